/**
 * The live table: one row per contact, updated in place (so keyboard focus stays where it is), filtered by state
 * and media type, with counts per media type.
 */
import type { ContactView } from './api.js';

/**
 * The media types of libs/contacts, written again: the page is served as the modules its build emits, so it cannot
 * take a value from a library (a type, yes). The supervisor page's end-to-end test checks that the two lists agree.
 */
export const MEDIA_TYPES = ['Phone', 'Voicemail', 'Email', 'Chat', 'SMS', 'WorkItem', 'Digital'] as const;

export type Filters = { state: string; mediaType: string };
export type RowActions = { end(contactId: string): void; history(contactId: string): void };

type Row = { view: ContactView; element: HTMLTableRowElement; cells: HTMLTableCellElement[]; end: HTMLButtonElement };

export class LiveTable {
  private readonly rows = new Map<string, Row>();
  private filters: Filters = { state: 'Active', mediaType: '' };

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly counts: HTMLUListElement,
    private readonly actions: RowActions,
  ) {}

  /** Applies a view; an older position than the one shown is ignored (list and stream may cross). */
  upsert(view: ContactView): void {
    const row = this.rows.get(view.contactId);
    if (row && BigInt(row.view.position) > BigInt(view.position)) return;
    if (row) {
      row.view = view;
      this.fill(row);
    } else {
      const created = this.create(view);
      this.rows.set(view.contactId, created);
      this.body.prepend(created.element);
    }
  }

  clear(): void {
    this.rows.clear();
    this.body.replaceChildren();
    this.refreshCounts();
  }

  setFilters(filters: Filters): void {
    this.filters = filters;
    for (const row of this.rows.values()) row.element.hidden = !this.matches(row.view);
    this.refreshCounts();
  }

  /** The active contacts the filters show: what "End all matching" ends. */
  matchingActive(): string[] {
    return [...this.rows.values()]
      .filter((r) => r.view.state === 'Active' && this.matches(r.view))
      .map((r) => r.view.contactId);
  }

  view(contactId: string): ContactView | undefined {
    return this.rows.get(contactId)?.view;
  }

  /** Ages move on by themselves. */
  tick(now = Date.now()): void {
    for (const row of this.rows.values()) row.cells[4]!.textContent = ageOf(row.view, now);
  }

  /** Counts are refreshed at most once a frame, however many changes arrive. */
  private countsPending = false;
  refreshCounts(): void {
    if (this.countsPending) return;
    this.countsPending = true;
    requestAnimationFrame(() => {
      this.countsPending = false;
      const byType = new Map<string, number>(MEDIA_TYPES.map((t) => [t, 0]));
      for (const { view } of this.rows.values()) {
        if (this.filters.state === '' || view.state === this.filters.state)
          byType.set(view.mediaType, (byType.get(view.mediaType) ?? 0) + 1);
      }
      const items = [...byType].map(([type, count]) => {
        const item = document.createElement('li');
        item.textContent = `${type}: ${count}`;
        return item;
      });
      this.counts.replaceChildren(...items);
    });
  }

  private matches(view: ContactView): boolean {
    return (
      (this.filters.state === '' || view.state === this.filters.state) &&
      (this.filters.mediaType === '' || view.mediaType === this.filters.mediaType)
    );
  }

  private create(view: ContactView): Row {
    const element = document.createElement('tr');
    const cells = Array.from({ length: 6 }, (_, i) => {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) cell.setAttribute('scope', 'row');
      element.append(cell);
      return cell;
    });
    const end = button(`End contact ${view.contactId}`, () => this.actions.end(view.contactId));
    const history = button(`History of ${view.contactId}`, () => this.actions.history(view.contactId));
    history.textContent = 'History';
    end.textContent = 'End contact';
    cells[5]!.append(end, ' ', history);
    const row = { view, element, cells, end };
    this.fill(row);
    return row;
  }

  private fill(row: Row): void {
    const { view, cells, element, end } = row;
    element.dataset['contactId'] = view.contactId;
    cells[0]!.textContent = view.contactId;
    cells[1]!.textContent = view.mediaType;
    cells[2]!.textContent = view.skill ?? '—';
    cells[3]!.textContent = view.state;
    cells[3]!.className = `state-${view.state}`;
    cells[4]!.textContent = ageOf(view, Date.now());
    end.hidden = view.state !== 'Active';
    element.hidden = !this.matches(view);
    this.refreshCounts();
  }
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.setAttribute('aria-label', label);
  element.addEventListener('click', onClick);
  return element;
}

/** How long the contact has been (or was) live: "4 s", "3 min 05 s", "2 h 07 min". */
export function ageOf(view: ContactView, now: number): string {
  const until = view.endedAt ? Date.parse(view.endedAt) : now;
  const seconds = Math.max(0, Math.floor((until - Date.parse(view.startedAt)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor(seconds / 60) % 60).padStart(2, '0')} min`;
}
