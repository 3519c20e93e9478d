import { z } from 'zod';

/** What to generate. */
export interface CreateOptions {
  /** The service's npm package name, e.g. `my-service` or `@acme/titles`. */
  name: string;
  /** Where to generate it (default: a folder named after the package, without its scope). */
  directory?: string | undefined;
  /** Write into a folder that is not empty (default `false`). */
  force?: boolean | undefined;
  /** Package manager named in the printed next steps (default `npm`). */
  packageManager?: 'npm' | 'pnpm' | 'yarn' | undefined;
  /**
   * The root folder of a Backlot clone: depend on its packages, packed into
   * the service's `vendor/`, instead of the registry's (see `useLocalPackages`).
   */
  localPackages?: string | undefined;
}

// npm's rules for new package names: lower case, at most 214 characters,
// URL-safe, not starting with '.' or '_', optionally scoped.
const NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const RESERVED = new Set(['node_modules', 'favicon.ico']);

/** @internal */
export const createOptionsSchema = z.object({
  name: z
    .string({ error: 'a service name is required, e.g. npm create backlot@latest my-service' })
    .max(214, 'the name must be at most 214 characters (an npm rule)')
    .regex(
      NAME,
      'the name must be a valid npm package name: lower-case letters, digits, "-", "." or "_", not starting with "." or "_" (e.g. my-service or @acme/my-service)',
    )
    .refine((name) => !RESERVED.has(name), 'that name is reserved by npm'),
  directory: z.string().min(1, 'directory must not be empty').optional(),
  force: z.boolean().optional(),
  packageManager: z.enum(['npm', 'pnpm', 'yarn'], { error: 'packageManager must be npm, pnpm or yarn' }).optional(),
  localPackages: z.string().min(1, 'localPackages must name the Backlot clone folder').optional(),
});
