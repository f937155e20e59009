// shared/schema.ts and shared/schemaFastPath.ts import class-transformer's CommonJS build by
// path (one copy of its metadata in every bundle); its types live under types/.
declare module 'class-transformer/cjs/index.js' {
  export * from 'class-transformer';
}
declare module 'class-transformer/cjs/storage.js' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage.js';
}
