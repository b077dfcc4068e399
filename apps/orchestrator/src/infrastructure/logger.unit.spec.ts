import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('the logger never writes a connection string password', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger('info', false, { write: (line: string) => void lines.push(line) }) };
  };

  it('masks it in messages and errors', () => {
    const { lines, logger } = capture();
    logger.error(
      { err: new Error('cannot reach esdb://admin:S3cretPW@node1:2113?tls=false') },
      'EventStoreDB at kurrentdb://ops:An0therPW@node2:2113 is down',
    );
    expect(lines.join('')).not.toMatch(/S3cretPW|An0therPW/);
    expect(lines.join('')).toContain('esdb://admin:***@node1:2113');
  });

  it('redacts connection-string fields', () => {
    const { lines, logger } = capture();
    logger.info({ connectionString: 'esdb://node1:2113', config: { esdbConnectionString: 'esdb://a:b@c' } }, 'opened');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      connectionString: '[redacted]',
      config: { esdbConnectionString: '[redacted]' },
    });
  });

  it("redacts passwords, a kafkajs sasl block's too", () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: 'Pw1',
        kafka: { password: 'Pw2', sasl: { mechanism: 'plain', username: 'svc', password: 'Pw3' } },
        sasl: { password: 'Pw4' },
      },
      'connecting',
    );
    expect(lines.join('')).not.toMatch(/Pw[1-4]/);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      password: '[redacted]',
      kafka: { password: '[redacted]', sasl: { username: 'svc', password: '[redacted]' } },
      sasl: { password: '[redacted]' },
    });
  });

  it('redacts the platform and metrics tokens wherever a configuration is logged', () => {
    const { lines, logger } = capture();
    logger.info(
      { platformToken: 'Tok1', metricsToken: 'Tok2', config: { platformToken: 'Tok3', metricsToken: 'Tok4' } },
      'configured',
    );
    expect(lines.join('')).not.toMatch(/Tok[1-4]/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ metricsToken: '[redacted]', config: { metricsToken: '[redacted]' } });
  });
});
