import type { CodegenConfig } from '@graphql-codegen/cli';

// Paths are relative to this folder: run codegen with it as the working directory.
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        // The gateway's persisted-operations plugin reads Apollo's `sha256Hash`, so hash with sha256.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: {
        // Plain strings need no graphql runtime in the client; `.js` suffixes make the output valid ESM.
        documentMode: 'string',
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
