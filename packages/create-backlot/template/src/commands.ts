import { type CommandRegistry, defineCommand } from '@backlot/resilience';
import { request } from 'undici';
import { z } from 'zod';

const titleSchema = z.object({ id: z.string(), name: z.string() });

/**
 * Calls to other services, each isolated by a command: a timeout, a circuit
 * breaker, a bulkhead, and a fallback for when the catalog cannot answer.
 */
export function createCommands(catalogUrl: string, registry: CommandRegistry) {
  const getTitleName = defineCommand({
    registry,
    key: 'catalog.getTitleName',
    group: 'catalog',
    timeoutMs: 300,
    run: async ({ signal }, titleId: string) => {
      const { statusCode, body } = await request(`${catalogUrl}/titles/${encodeURIComponent(titleId)}`, { signal });
      if (statusCode !== 200) {
        await body.dump();
        throw new Error(`catalog answered ${statusCode}`);
      }
      return titleSchema.parse(await body.json()).name;
    },
    // The catalog is down or slow: answer without the name rather than fail.
    fallback: () => null,
  });
  return { getTitleName };
}
