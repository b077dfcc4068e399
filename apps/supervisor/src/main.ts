/**
 * The supervisor page (docs/design.md, Supervisor page): sign in with a SecurityUser or the platform token (kept in sessionStorage only),
 * follow the live contacts, end one with confirmation or every matching one through the bulk end.
 */
import { Api, identityOf, newCommandId, type ContactView } from './api.js';
import { BRANCHES, explain, isBranch, signInRefusal, type Branch } from './branches.js';
import { LiveTable, MEDIA_TYPES } from './table.js';

const TOKEN_KEY = 'contact-orchestrator.supervisor.token';
/** End all matching sends this many steps at most, so the progress bar moves. */
const BULK_STEPS = 10;
const MAX_BATCH = 1000;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const ui = {
  who: $<HTMLParagraphElement>('who'),
  signOut: $<HTMLButtonElement>('sign-out'),
  signInSection: $<HTMLElement>('sign-in-section'),
  signIn: $<HTMLFormElement>('sign-in'),
  token: $<HTMLInputElement>('token'),
  alert: $<HTMLDivElement>('alert'),
  board: $<HTMLElement>('board'),
  state: $<HTMLSelectElement>('state-filter'),
  media: $<HTMLSelectElement>('media-filter'),
  endAll: $<HTMLButtonElement>('end-all'),
  bulk: $<HTMLElement>('bulk'),
  progress: $<HTMLProgressElement>('bulk-progress'),
  bulkText: $<HTMLParagraphElement>('bulk-text'),
  bulkSummary: $<HTMLUListElement>('bulk-summary'),
  status: $<HTMLParagraphElement>('status'),
  historyTitle: $<HTMLHeadingElement>('history-title'),
  historyNote: $<HTMLParagraphElement>('history-note'),
  historyEvents: $<HTMLOListElement>('history-events'),
  confirm: $<HTMLDialogElement>('confirm'),
  confirmTitle: $<HTMLHeadingElement>('confirm-title'),
  confirmText: $<HTMLParagraphElement>('confirm-text'),
  confirmYes: $<HTMLButtonElement>('confirm-yes'),
};

let api: Api | undefined;
let following: AbortController | undefined;
let historyOf: string | undefined;
const table = new LiveTable($<HTMLTableSectionElement>('rows'), $<HTMLUListElement>('counts'), {
  end: (id) => void endOne(id),
  history: (id) => void showHistory(id),
});

for (const type of MEDIA_TYPES) ui.media.add(new Option(type, type));

function say(message: string): void {
  ui.status.textContent = message;
}

function refuse(branch: Branch, words: string, detail?: string): void {
  ui.alert.textContent = `${branch}: ${words}${detail ? ` (the service said: ${detail})` : ''}`;
}

/** Asks before ending anything; resolves true only on an explicit yes. */
function confirmEnd(title: string, text: string, yes: string): Promise<boolean> {
  ui.confirmTitle.textContent = title;
  ui.confirmText.textContent = text;
  ui.confirmYes.textContent = yes;
  ui.confirm.returnValue = '';
  ui.confirm.showModal();
  return new Promise((resolve) =>
    ui.confirm.addEventListener('close', () => resolve(ui.confirm.returnValue === 'confirm'), { once: true }),
  );
}

async function signIn(token: string): Promise<void> {
  stopFollowing();
  ui.alert.textContent = '';
  const candidate = new Api(token);
  const first = await candidate.call<{ message?: string }>('GET', '/v1/contacts?limit=1');
  const refusal = signInRefusal(first.status);
  if (refusal) {
    sessionStorage.removeItem(TOKEN_KEY);
    refuse(refusal.branch, refusal.words, first.body.message);
    ui.token.focus();
    return;
  }
  if (first.status !== 200) {
    refuse('Default', explain('Default'), `HTTP ${first.status}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  api = candidate;
  const identity = identityOf(token);
  ui.who.textContent =
    identity.kind === 'agent'
      ? `Signed in as agent ${identity.agentId}, business unit ${identity.businessUnitId}`
      : 'Signed in as platform (all business units; viewing only)';
  ui.signInSection.hidden = true;
  ui.token.value = '';
  ui.board.hidden = false;
  ui.signOut.hidden = false;
  table.clear();
  applyFilters();
  follow(candidate);
  ui.state.focus();
}

function signOut(): void {
  stopFollowing();
  sessionStorage.removeItem(TOKEN_KEY);
  api = undefined;
  table.clear();
  ui.board.hidden = true;
  ui.signOut.hidden = true;
  ui.signInSection.hidden = false;
  ui.who.textContent = 'Not signed in';
  ui.alert.textContent = '';
  ui.token.focus();
}

function stopFollowing(): void {
  following?.abort();
  following = undefined;
}

/** Follows the stream; once it is open, loads the current contacts (the stream then keeps them live). Reconnects. */
function follow(client: Api): void {
  const controller = new AbortController();
  following = controller;
  const loop = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const status = await client.follow(
          () => void load(client),
          (view: ContactView) => {
            table.upsert(view);
            if (view.contactId === historyOf) void showHistory(view.contactId);
          },
          controller.signal,
        );
        const refusal = signInRefusal(status);
        if (refusal) {
          refuse(refusal.branch, refusal.words);
          signOut();
          return;
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      say('The live stream was interrupted; reconnecting…');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void loop();
}

async function load(client: Api): Promise<void> {
  const answer = await client.contacts();
  for (const view of answer.body) table.upsert(view);
  say(`${answer.body.length} contacts loaded; following live changes.`);
}

function applyFilters(): void {
  table.setFilters({ state: ui.state.value, mediaType: ui.media.value });
}

async function endOne(contactId: string): Promise<void> {
  if (!api) return;
  const yes = await confirmEnd(
    `End contact ${contactId}?`,
    `Contact ${contactId} (${table.view(contactId)?.mediaType ?? 'contact'}) will be disconnected now. This cannot be undone.`,
    'Yes, end it',
  );
  if (!yes) {
    say(`Contact ${contactId} was not ended.`);
    return;
  }
  const answer = await api.call<{ branch?: string; message?: string; error?: { message: string } }>(
    'POST',
    `/v1/contacts/${contactId}/end`,
    {},
    { 'idempotency-key': newCommandId() },
  );
  const branch = answer.body.branch;
  if (!isBranch(branch)) {
    refuse('Default', explain('Default'), answer.body.message ?? `HTTP ${answer.status}`);
    return;
  }
  if (branch === 'OnSuccess') {
    ui.alert.textContent = '';
    say(`Contact ${contactId}: OnSuccess. ${explain(branch)}`);
    const view = await api.call<ContactView>('GET', `/v1/contacts/${contactId}`);
    if (view.status === 200) table.upsert(view.body);
  } else {
    say(`Contact ${contactId}: ${branch}.`);
    refuse(branch, explain(branch), answer.body.error?.message);
  }
}

type BatchAnswer = {
  results?: Array<{ contactId: string; branch: string }>;
  summary?: Record<string, number>;
  branch?: string;
  error?: { message: string };
  message?: string;
};

async function endAllMatching(): Promise<void> {
  if (!api) return;
  const ids = table.matchingActive();
  if (ids.length === 0) {
    say('No active contact matches the filters: nothing to end.');
    return;
  }
  const what = [ui.media.value || 'any media type', 'Active'].join(', ');
  const yes = await confirmEnd(
    `End all ${ids.length} matching contacts?`,
    `${ids.length} active contacts (${what}) will be disconnected now, through one bulk end. This cannot be undone.`,
    `Yes, end ${ids.length}`,
  );
  if (!yes) {
    say('Nothing was ended.');
    return;
  }
  ui.alert.textContent = '';
  const summary = Object.fromEntries(BRANCHES.map((b) => [b, 0])) as Record<Branch, number>;
  ui.bulk.hidden = false;
  ui.progress.max = ids.length;
  ui.progress.value = 0;
  ui.bulkSummary.replaceChildren();
  const step = Math.min(MAX_BATCH, Math.max(1, Math.ceil(ids.length / BULK_STEPS)));
  const batchId = newCommandId();
  let done = 0;
  for (let start = 0; start < ids.length; start += step) {
    const chunk = ids.slice(start, start + step);
    ui.bulkText.textContent = `Ending ${done + 1}–${done + chunk.length} of ${ids.length}…`;
    const answer = await api.call<BatchAnswer>(
      'POST',
      '/v1/contacts/end-batch',
      { contactIds: chunk },
      { 'idempotency-key': `${batchId}-${start}` },
    );
    for (const result of answer.body.results ?? []) if (isBranch(result.branch)) summary[result.branch]++;
    done += chunk.length;
    ui.progress.value = done;
    showSummary(summary);
    if (answer.status !== 200) {
      const branch = isBranch(answer.body.branch) ? answer.body.branch : 'Default';
      refuse(branch, explain(branch), answer.body.error?.message ?? answer.body.message);
      ui.bulkText.textContent = `Stopped after ${done} of ${ids.length}: ${branch}.`;
      return;
    }
  }
  ui.bulkText.textContent = `Done: ${ids.length} of ${ids.length} contacts handled.`;
}

function showSummary(summary: Record<Branch, number>): void {
  const items = BRANCHES.filter((b) => summary[b] > 0).map((branch) => {
    const item = document.createElement('li');
    const count = document.createElement('strong');
    count.textContent = `${summary[branch]} ${branch}`;
    item.append(count, `: ${explain(branch)}`);
    return item;
  });
  ui.bulkSummary.replaceChildren(...items);
}

type HistoryEvent = { type: string; data: Record<string, unknown>; recordedAt: string };

async function showHistory(contactId: string): Promise<void> {
  if (!api) return;
  historyOf = contactId;
  ui.historyTitle.textContent = `Contact history: ${contactId}`;
  const answer = await api.call<{ events?: HistoryEvent[]; message?: string }>(
    'GET',
    `/v1/contacts/${contactId}/history`,
  );
  if (historyOf !== contactId) return;
  if (answer.status !== 200) {
    ui.historyNote.textContent = `No history can be shown: ${answer.body.message ?? `HTTP ${answer.status}`}`;
    ui.historyEvents.replaceChildren();
    return;
  }
  ui.historyNote.textContent = `${answer.body.events?.length ?? 0} events, oldest first.`;
  ui.historyEvents.replaceChildren(...(answer.body.events ?? []).map(describeEvent));
}

function describeEvent(event: HistoryEvent): HTMLLIElement {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.dateTime = event.recordedAt;
  time.textContent = new Date(event.recordedAt).toLocaleTimeString();
  const d = event.data;
  const skill = typeof d['skill'] === 'string' ? d['skill'] : '';
  const agentId = typeof d['agentId'] === 'string' ? d['agentId'] : '';
  const words =
    event.type === 'ContactStarted'
      ? `started (${String(d['mediaType'])}${skill ? `, skill ${skill}` : ''})`
      : event.type === 'ContactEnded'
        ? `ended by agent ${String(d['endedBy'])} (${String(d['disconnectReason'])})`
        : event.type === 'EndContactRejected'
          ? `end refused: ${String(d['reason'])}${agentId ? ` (agent ${agentId})` : ''}: ${String(d['detail'])}`
          : event.type;
  item.append(time, ` ${words}`);
  return item;
}

ui.signIn.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = ui.token.value.trim();
  if (token) void signIn(token);
});
ui.signOut.addEventListener('click', signOut);
ui.state.addEventListener('change', applyFilters);
ui.media.addEventListener('change', applyFilters);
ui.endAll.addEventListener('click', () => void endAllMatching());
setInterval(() => table.tick(), 5000);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void signIn(saved);
else ui.token.focus();
