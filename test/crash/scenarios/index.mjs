// Every crash scenario, grouped by protocol. A scenario whose engine API has not landed is
// listed as skipped by the explorer, not silently dropped.
import atomicWrite from './atomic-write.mjs';
import ledger from './ledger.mjs';
import lock from './lock.mjs';
import snapshot from './snapshot.mjs';
import store from './store.mjs';

export const scenarios = [...atomicWrite, ...store, ...lock, ...ledger, ...snapshot];
