import type { Dispatcher } from 'undici';

/**
 * The controller of an attempt that failed before undici took it (a step
 * refused it, or the dispatcher threw): already aborted, with its reason.
 */
export class DetachedController implements Dispatcher.DispatchController {
  readonly aborted = true;
  readonly paused = false;
  readonly reason: Error;
  constructor(reason: Error) {
    this.reason = reason;
  }
  abort(): void {}
  pause(): void {}
  resume(): void {}
}

/** Fails `handler` with `error` without dispatching (a step refused the attempt). */
export function refuse(handler: Dispatcher.DispatchHandler, error: Error): true {
  handler.onResponseError?.(new DetachedController(error), error);
  return true;
}

/**
 * Dispatches below a step; a dispatcher that throws (a step's bug, a
 * refused request) fails `handler` instead, so the step sees every outcome.
 */
export function dispatchBelow(
  dispatch: Dispatcher.Dispatch,
  options: Dispatcher.DispatchOptions,
  handler: Dispatcher.DispatchHandler,
): boolean {
  try {
    return dispatch(options, handler);
  } catch (error) {
    return refuse(handler, error as Error);
  }
}
