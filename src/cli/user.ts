import type { Command } from 'commander';

export function registerUser(_program: Command): void {}
