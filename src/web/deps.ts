/** What the webmail routes share: the gateway's context, sessions and the login throttle. */
import type { AppContext } from '../app.js';
import type { Asset } from './assets.js';
import type { Sessions } from './session.js';
import type { LoginThrottle } from './throttle.js';

export interface WebDeps {
  ctx: AppContext;
  sessions: Sessions;
  throttle: LoginThrottle;
  assets: Map<string, Asset>;
}
