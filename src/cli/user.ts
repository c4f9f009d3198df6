/**
 * `outpost user ...`: mailbox accounts that may log in to submission and webmail, and the
 * sender addresses granted to them. Addresses are stored lower-cased; passwords are read
 * from standard input only (never from the command line, where `ps` shows them) and kept as
 * argon2id hashes.
 */
import type { Command } from 'commander';
import { hashPassword, isValidGrant, normalizeAddress } from '../policy/auth.js';
import { CliError, passwordFromStdin, withStore, type GlobalOptions } from './common.js';

const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function address(raw: string): string {
  const a = normalizeAddress(raw);
  if (!ADDRESS.test(a)) throw new CliError(`"${raw}" is not a mailbox address (expected name@domain)`);
  return a;
}

export function registerUser(program: Command): void {
  const global = () => program.opts<GlobalOptions>();
  const cmd = program.command('user').description('manage mailbox accounts and their sender grants');

  cmd.command('add <address>')
    .description('add a mailbox account; the password is read from standard input')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (raw: string, opts: { passwordStdin?: boolean }) => {
      const addr = address(raw);
      const pw = await passwordFromStdin(opts.passwordStdin);
      const hash = await hashPassword(pw);
      await withStore(global(), async (store) => {
        if (!(await store.addAccount(addr, hash))) {
          throw new CliError(`user ${addr} exists already; ` +
            `use \`outpost user passwd ${addr} --password-stdin\` to change its password`);
        }
      });
      console.log(`added ${addr}`);
    });

  cmd.command('list')
    .description('list the accounts and their grants')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const accounts = await withStore(global(), (store) => store.listAccounts());
      if (opts.json) {
        const out = accounts.map((a) => ({
          address: a.address,
          created: new Date(a.created).toISOString(),
          grants: a.grants,
        }));
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      if (accounts.length === 0) console.log('no accounts');
      for (const a of accounts) {
        console.log(a.grants.length ? `${a.address}  (may also send as: ${a.grants.join(', ')})` : a.address);
      }
    });

  cmd.command('delete <address>')
    .description('delete an account and its grants')
    .action(async (raw: string) => {
      const addr = address(raw);
      await withStore(global(), async (store) => {
        if (!(await store.deleteAccount(addr))) throw new CliError(`no such user: ${addr}`);
      });
      console.log(`deleted ${addr}`);
    });

  cmd.command('passwd <address>')
    .description("change an account's password; the new one is read from standard input")
    .option('--password-stdin', 'read the password from standard input')
    .action(async (raw: string, opts: { passwordStdin?: boolean }) => {
      const addr = address(raw);
      const pw = await passwordFromStdin(opts.passwordStdin);
      const hash = await hashPassword(pw);
      await withStore(global(), async (store) => {
        if (!(await store.setPassword(addr, hash))) throw new CliError(`no such user: ${addr}`);
      });
      console.log(`password changed for ${addr}`);
    });

  cmd.command('grant <address> <pattern>')
    .description('let an account send as another address, or as any address of a domain ("@example.test")')
    .action(async (raw: string, rawPattern: string) => {
      const addr = address(raw);
      const pattern = normalizeAddress(rawPattern);
      if (!isValidGrant(pattern)) {
        throw new CliError(`"${rawPattern}" is neither an address (name@domain) nor a domain ("@domain")`);
      }
      await withStore(global(), async (store) => {
        if (!(await store.getAccount(addr))) throw new CliError(`no such user: ${addr}`);
        if (!(await store.addGrant(addr, pattern))) throw new CliError(`${addr} may already send as ${pattern}`);
      });
      console.log(`${addr} may now send as ${pattern}`);
    });

  cmd.command('revoke <address> <pattern>')
    .description('take back a grant')
    .action(async (raw: string, rawPattern: string) => {
      const addr = address(raw);
      const pattern = normalizeAddress(rawPattern);
      await withStore(global(), async (store) => {
        if (!(await store.getAccount(addr))) throw new CliError(`no such user: ${addr}`);
        if (!(await store.removeGrant(addr, pattern))) throw new CliError(`${addr} has no grant ${pattern}`);
      });
      console.log(`${addr} may no longer send as ${pattern}`);
    });
}
