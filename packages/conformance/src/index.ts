/**
 * @packageDocumentation
 * The Parley protocol conformance suite: `runConformance({ url, tokens, conversationId })` runs
 * against any server URL and reports which guarantees of PROTOCOL.md hold. CLI:
 * `parley-conformance`.
 */
export { CheckFailure } from './probe.js';
export {
  CHECKS,
  type CheckId,
  type CheckResult,
  type CheckStatus,
  type ConformanceOptions,
  type ConformanceReport,
  formatReport,
  runConformance,
  type TokenSource,
} from './suite.js';
