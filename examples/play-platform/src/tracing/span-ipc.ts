import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type BufferedSpan, bufferedSpan } from './trace-buffer.ts';

/** The message a gateway instance sends its parent with spans it finished. */
export interface SpansMessage {
  type: 'spans';
  spans: BufferedSpan[];
}

/** Whether an IPC message from a gateway instance carries spans. */
export function isSpansMessage(message: unknown): message is SpansMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'spans' &&
    Array.isArray((message as { spans?: unknown }).spans)
  );
}

/**
 * An OpenTelemetry span exporter that sends finished spans to the parent
 * process over the child's IPC channel (`process.send`), where the platform's
 * {@link TraceBuffer} adds them: the gateway instances of `npm start` are
 * processes of their own, and their spans join the Play API's in the
 * dashboard's waterfall. Put it behind the SDK's `BatchSpanProcessor`. Without
 * a connected parent, an export fails (the SDK drops the batch; nothing
 * waits).
 */
export class ParentProcessSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode; error?: Error }) => void): void {
    if (!process.send || !process.connected) {
      done({ code: ExportResultCode.FAILED, error: new Error('no parent process to send spans to') });
      return;
    }
    const message: SpansMessage = { type: 'spans', spans: spans.map(bufferedSpan) };
    process.send(message, undefined, {}, (error: Error | null) =>
      done(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS }),
    );
  }

  async shutdown(): Promise<void> {}
}
