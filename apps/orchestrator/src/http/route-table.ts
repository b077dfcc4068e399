export const pathOf = (url: string): string => url.split('?')[0]!;

/**
 * The routes of the service by path pattern, filled by Fastify's onRoute hook, so a request whose method a known
 * path does not have is told which methods it does have.
 */
export class RouteTable {
  private readonly routes: { pattern: RegExp; method: string }[] = [];

  add(method: string | string[], url: string): void {
    const source = url
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    for (const m of Array.isArray(method) ? method : [method]) this.routes.push({ pattern: new RegExp(`^${source}$`), method: m.toUpperCase() });
  }

  methodsOf(url: string): string[] {
    const path = pathOf(url);
    return [...new Set(this.routes.filter((r) => r.pattern.test(path)).map((r) => r.method))].sort();
  }
}
