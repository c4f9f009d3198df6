/**
 * `outpost admin ...`: the operators who may log in to the admin pages (/admin). They are
 * kept apart from mailbox accounts: a mailbox login never opens the admin pages, and an
 * operator account cannot send mail. Passwords are read from standard input only and kept
 * as argon2id hashes, as for mailboxes.
 */
import type { Command } from 'commander';
import { hashPassword, normalizeAddress } from '../policy/auth.js';
import { CliError, passwordFromStdin, withStore, type GlobalOptions } from './common.js';

const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function address(raw: string): string {
  const a = normalizeAddress(raw);
  if (!ADDRESS.test(a)) throw new CliError(`"${raw}" is not an address (expected name@domain)`);
  return a;
}

export function registerAdmin(program: Command): void {
  const global = () => program.opts<GlobalOptions>();
  const cmd = program
    .command('admin')
    .description('manage the operators who may log in to the admin pages (/admin)');

  cmd
    .command('add <address>')
    .description('add an operator; the password is read from standard input')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (raw: string, opts: { passwordStdin?: boolean }) => {
      const addr = address(raw);
      const hash = await hashPassword(await passwordFromStdin(opts.passwordStdin));
      await withStore(global(), async (store) => {
        if (!(await store.addAdmin(addr, hash))) {
          throw new CliError(
            `admin ${addr} exists already; use \`outpost admin passwd ${addr} --password-stdin\` ` +
              'to change its password',
          );
        }
      });
      console.log(`added admin ${addr}`);
    });

  cmd
    .command('list')
    .description('list the operators')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const admins = await withStore(global(), (store) => store.listAdmins());
      if (opts.json) {
        const out = admins.map((a) => ({
          address: a.address,
          created: new Date(a.created).toISOString(),
        }));
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      if (admins.length === 0) console.log('no admins');
      for (const a of admins) console.log(a.address);
    });

  cmd
    .command('delete <address>')
    .description('delete an operator (their open sessions end at once)')
    .action(async (raw: string) => {
      const addr = address(raw);
      await withStore(global(), async (store) => {
        if (!(await store.deleteAdmin(addr))) throw new CliError(`no such admin: ${addr}`);
      });
      console.log(`deleted admin ${addr}`);
    });

  cmd
    .command('passwd <address>')
    .description("change an operator's password (their open sessions end at once)")
    .option('--password-stdin', 'read the password from standard input')
    .action(async (raw: string, opts: { passwordStdin?: boolean }) => {
      const addr = address(raw);
      const hash = await hashPassword(await passwordFromStdin(opts.passwordStdin));
      await withStore(global(), async (store) => {
        if (!(await store.setAdminPassword(addr, hash))) throw new CliError(`no such admin: ${addr}`);
      });
      console.log(`password changed for admin ${addr}`);
    });
}
