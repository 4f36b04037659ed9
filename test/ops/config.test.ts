import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('operational settings', () => {
  it('have defaults that let legitimate screens through', () => {
    expect(loadConfig({})).toMatchObject({
      maxDepth: 15,
      maxAliases: 50,
      maxTokens: 2000,
      maxCost: 500_000,
      maxBodyBytes: 1024 * 1024,
      readyTimeoutMs: 1000,
      readyCacheMs: 1000,
      shutdownGraceMs: 10_000,
    });
  });

  it('read every variable', () => {
    expect(
      loadConfig({
        GRAPHQL_MAX_DEPTH: '8',
        GRAPHQL_MAX_ALIASES: '5',
        GRAPHQL_MAX_TOKENS: '300',
        GRAPHQL_MAX_COST: '900',
        MAX_BODY_BYTES: '2048',
        READY_TIMEOUT_MS: '250',
        READY_CACHE_MS: '0',
      }),
    ).toMatchObject({
      maxDepth: 8,
      maxAliases: 5,
      maxTokens: 300,
      maxCost: 900,
      maxBodyBytes: 2048,
      readyTimeoutMs: 250,
      readyCacheMs: 0,
    });
  });

  it.each([
    ['GRAPHQL_MAX_DEPTH', '0'],
    ['GRAPHQL_MAX_ALIASES', 'many'],
    ['GRAPHQL_MAX_TOKENS', '-1'],
    ['GRAPHQL_MAX_COST', '1e6'],
    ['MAX_BODY_BYTES', '1MiB'],
    ['READY_TIMEOUT_MS', '0'],
    ['READY_CACHE_MS', '1.5'],
  ])('refuse %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
