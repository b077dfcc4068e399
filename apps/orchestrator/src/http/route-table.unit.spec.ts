import { describe, expect, it } from 'vitest';
import { RouteTable } from './route-table.js';

describe('RouteTable: the methods a path has, for 405 and Allow', () => {
  const routes = new RouteTable();
  routes.add(['GET', 'HEAD'], '/v1/contacts/:contactId');
  routes.add('POST', '/v1/contacts/:contactId/end');
  routes.add('POST', '/v1/contacts/end-batch');
  routes.add(['GET', 'HEAD'], '/v1/contacts');
  routes.add('POST', '/v1/contacts');

  it.each([
    ['/v1/contacts/5000123', ['GET', 'HEAD']],
    ['/v1/contacts/5000123/end?x=1', ['POST']],
    // Its own path: not also a /v1/contacts/:contactId, which the API document does not say it is.
    ['/v1/contacts/end-batch', ['POST']],
    ['/v1/contacts', ['GET', 'HEAD', 'POST']],
    ['/v1/nothing', []],
  ])('%s: %j', (url, methods) => {
    expect(routes.methodsOf(url)).toEqual(methods);
  });
});
