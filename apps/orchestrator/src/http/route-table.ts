export const pathOf = (url: string): string => url.split('?')[0]!;

/**
 * The routes of the service by path pattern, filled by Fastify's onRoute hook, so a request whose method a known
 * path does not have is told which methods it does have.
 */
export class RouteTable {
  private readonly routes: { url: string; pattern: RegExp; method: string; parameters: number }[] = [];

  add(method: string | string[], url: string): void {
    const segments = url.split('/');
    const source = segments
      .map((segment) =>
        segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const parameters = segments.filter((segment) => segment.startsWith(':') || segment === '*').length;
    for (const m of Array.isArray(method) ? method : [method])
      this.routes.push({ url, pattern: new RegExp(`^${source}$`), method: m.toUpperCase(), parameters });
  }

  /**
   * The methods of the path's own route: the most specific pattern that matches (`/v1/contacts/end-batch` is its own
   * path, not a `/v1/contacts/:contactId`), as the API document lists them.
   */
  methodsOf(url: string): string[] {
    const path = pathOf(url);
    const matching = this.routes.filter((r) => r.pattern.test(path));
    if (matching.length === 0) return [];
    const fewest = Math.min(...matching.map((r) => r.parameters));
    const own = matching.filter((r) => r.parameters === fewest);
    const pattern = own[0]!.url;
    return [...new Set(own.filter((r) => r.url === pattern).map((r) => r.method))].sort();
  }
}
