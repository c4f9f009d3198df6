import type { Command } from 'commander';

export function registerBlock(_program: Command): void {}
