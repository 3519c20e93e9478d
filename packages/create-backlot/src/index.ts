export { backlotVersions, DirectoryNotEmptyError, type GenerateResult, generate, TEMPLATE_DIR } from './generate.js';
export { BACKLOT_PACKAGES, LocalPackagesError, useLocalPackages } from './local-packages.js';
export type { CreateOptions } from './options.js';
