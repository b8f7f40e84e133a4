import { describe, expect, it } from 'vitest';
import { CloseCode, closeAction } from '../src/index.js';

describe('closeAction', () => {
  it.each([
    [CloseCode.Unauthenticated, 'refresh'],
    [CloseCode.Forbidden, 'stop'],
    [CloseCode.BadRequest, 'stop'],
    [CloseCode.SubprotocolNotAcceptable, 'stop'],
    [CloseCode.PolicyViolation, 'stop'],
    [CloseCode.TryAgainLater, 'backoff'],
    [CloseCode.TooManyRequests, 'backoff'],
    [CloseCode.InternalError, 'backoff'],
    [CloseCode.TooManyConnections, 'backoff'],
    [CloseCode.ServiceRestart, 'retry'],
    [CloseCode.GoingAway, 'retry'],
    [CloseCode.Normal, 'retry'],
    [CloseCode.Abnormal, 'retry'],
    [CloseCode.MessageTooBig, 'retry'],
    [CloseCode.HelloTimeout, 'retry'],
    [4999, 'retry'],
  ])('close %i -> %s', (code, action) => {
    expect(closeAction(code)).toBe(action);
  });

  it('never stops on a server shutdown', () => {
    expect(closeAction(CloseCode.ServiceRestart)).not.toBe('stop');
    expect(closeAction(CloseCode.GoingAway)).not.toBe('stop');
  });
});
