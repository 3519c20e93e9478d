import type { policies } from 'cassandra-driver';

type RetryPolicyClass = typeof policies.retry.RetryPolicy;
type RetryPolicy = policies.retry.RetryPolicy;
type DecisionInfo = policies.retry.DecisionInfo;
type OperationInfo = policies.retry.OperationInfo;

/**
 * @internal A retry policy that retries only statements marked idempotent, at
 * most `retries` times, on the next host; everything else is rethrown at once
 * (a lightweight transaction is never blindly retried).
 */
export function idempotentRetryPolicy(Base: RetryPolicyClass, retries: number): RetryPolicy {
  class IdempotentRetryPolicy extends Base {
    #decide(info: OperationInfo): DecisionInfo {
      if (info.executionOptions.isIdempotent() === true && info.nbRetry < retries)
        return this.retryResult(undefined as unknown as Parameters<RetryPolicy['retryResult']>[0], false);
      return this.rethrowResult();
    }
    override onUnavailable(info: OperationInfo): DecisionInfo {
      return this.#decide(info);
    }
    override onReadTimeout(info: OperationInfo): DecisionInfo {
      return this.#decide(info);
    }
    override onWriteTimeout(info: OperationInfo): DecisionInfo {
      return this.#decide(info);
    }
    override onRequestError(info: OperationInfo): DecisionInfo {
      return this.#decide(info);
    }
  }
  return new IdempotentRetryPolicy();
}
