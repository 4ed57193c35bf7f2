// admem: the TypeScript SDK of admem, the memory service for LLM agents that
// learns from failure. See README.md.

export * from "./client.js";
export * from "./errors.js";
export * from "./episode.js";
export type { components, paths } from "./api.gen.js";
