/**
 * The running gateway behind `outpost serve`: builds the shared context, starts each service
 * in turn, and on a signal stops them in the reverse order, so nothing is accepted that
 * cannot be finished, then closes the store.
 *
 * A service is anything with a stop(); add one by pushing it onto `services`.
 */
import { buildApp } from '../app-build.js';
import { initLog, maillog } from '../maillog/log.js';
import { startQueueRunner } from '../queue/runner.js';
import { ListenError, startSubmission } from '../submission/server.js';
import { loadTlsMaterial } from '../submission/tls.js';
import { startWeb } from '../web/server.js';
import { CliError, loadFromOptions, type GlobalOptions } from './common.js';

export interface Service {
  name: string;
  stop(): Promise<void>;
}

async function stopAll(services: Service[]): Promise<void> {
  for (const s of [...services].reverse()) {
    try {
      await s.stop();
    } catch (err) {
      maillog.error({ service: s.name, error: (err as Error).message }, 'service did not stop cleanly');
    }
  }
}

export async function runServe(opts: GlobalOptions, signalled: Promise<NodeJS.Signals>): Promise<void> {
  const cfg = loadFromOptions(opts);
  initLog(cfg.log.level, cfg.node_id);
  const ctx = await buildApp(cfg);
  const services: Service[] = [];
  try {
    // Everything that can fail on a bad config comes before the first service starts.
    const tlsMaterial = await loadTlsMaterial(cfg);
    // First in, last out: on shutdown intake stops before the queue runner does.
    services.push({ name: 'queue', ...startQueueRunner(ctx) });
    services.push({ name: 'smtp', ...(await startSubmission(ctx, tlsMaterial)) });
    services.push({ name: 'web', ...(await startWeb(ctx)) });
  } catch (err) {
    await stopAll(services);
    await ctx.store.close();
    if (err instanceof ListenError) {
      throw new CliError(`${err.message}; check ${err.key} in ${cfg.source ?? 'the config (embedded defaults)'}`, 1);
    }
    throw err;
  }
  maillog.started({ store: ctx.store.kind, scanners: ctx.scanners.map((s) => s.name), config: cfg.source });

  const signal = await signalled;
  maillog.stopping({ signal, grace_ms: cfg.smtp.shutdown_grace });
  await stopAll(services);
  await ctx.store.close();
  process.exit(0);
}
