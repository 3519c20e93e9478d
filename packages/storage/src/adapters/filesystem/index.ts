export { createFilesystemStore, type FilesystemStoreOptions } from './filesystem-store.js';
