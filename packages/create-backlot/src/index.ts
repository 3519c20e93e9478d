export { backlotVersions, DirectoryNotEmptyError, type GenerateResult, generate, TEMPLATE_DIR } from './generate.js';
export type { CreateOptions } from './options.js';
