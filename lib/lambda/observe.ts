/**
 * Structured logs and metrics (Powertools): one JSON line per outcome with the transition id as
 * correlation id, and a count per outcome kind as an EMF metric. Outcomes carry no secrets by
 * construction; nothing here logs a request, a header or a credential.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Outcome } from '../core/outcome';
import type { FanoutReport } from './publisher';

export interface Observer {
  logger: Logger;
  outcome(o: Outcome): void;
  fanout(r: FanoutReport): void;
  /** Emit the invocation's metrics (EMF); call once per invocation. */
  flush(): void;
}

export function createObserver(service = 'jobctl'): Observer {
  const logger = new Logger({ serviceName: service });
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'jobctl',
    serviceName: service,
  });
  // Powertools warns on every flush with nothing to publish (an invocation that had no outcome).
  let recorded = 0;
  return {
    logger,
    outcome(o) {
      recorded++;
      metrics.addMetric(o.outcome, MetricUnit.Count, 1);
      const { raw: _raw, ...rest } = o;
      const level = o.outcome === 'failed' ? 'warn' : 'info';
      logger[level](`transition ${o.outcome}`, { correlation_id: o.id, ...rest });
    },
    fanout(r) {
      recorded++;
      metrics.addMetric('enqueued', MetricUnit.Count, r.enqueued);
      logger[r.error || r.failed ? 'warn' : 'info']('fan-out', { correlation_id: r.id, ...r });
    },
    flush() {
      if (recorded === 0) return;
      recorded = 0;
      metrics.publishStoredMetrics();
    },
  };
}
