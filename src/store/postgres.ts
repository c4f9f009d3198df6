/** PostgreSQL store for several gateways sharing one queue. */
import type { Store } from './store.js';

export const PostgresStore = {
  async open(_url: string): Promise<Store> {
    throw new Error('the PostgreSQL store is not built yet');
  },
};
