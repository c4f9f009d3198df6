import type { Command } from 'commander';

export function registerQueue(_program: Command): void {}
