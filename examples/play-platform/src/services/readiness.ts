import type { KeyValueStore } from '@backlot/storage';
import { z } from 'zod';
import type { ReadinessCheck } from '../http/service.ts';

/** Readiness of a service on the key-value store: a read of a probe key answers (absent is fine) in time. */
export function storeReadiness(kv: KeyValueStore): ReadinessCheck {
  const probes = kv.namespace('readiness', z.unknown());
  return { name: 'store', check: (signal) => probes.get('probe', { signal }) };
}
