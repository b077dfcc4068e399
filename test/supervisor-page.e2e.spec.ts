/**
 * The supervisor page (docs/design.md, Supervisor page) in a real Chromium (Debian's `chromium`, driven by playwright-core), against the
 * real service over HTTP. Elements are found by role and label, as a screen reader would. A screenshot of the page
 * is written during the run (SUPERVISOR_SCREENSHOT, default dist/screenshots/supervisor-page.png).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TYPES } from '#contacts';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';
import { printSkip } from './harness/skip.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = resolve(process.env.SUPERVISOR_SCREENSHOT ?? 'dist/screenshots/supervisor-page.png');
const available = existsSync(CHROMIUM);
if (!available)
  printSkip('supervisor page in Chromium', `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`);

let service: ServiceProcess;
let api: OrchestratorClient;
let browser: Browser;
let bu1: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;
let bu2: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // Nothing may be fetched from another host.
  page.on('request', (request) => {
    if (!request.url().startsWith(service.url)) throw new Error(`the page fetched ${request.url()}`);
  });
  await page.goto(service.url);
  await page.getByLabel('Token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

const row = (page: Page, contactId: string) => page.getByRole('row', { name: new RegExp(`\\b${contactId}\\b`) });

describe.skipIf(!available)('the supervisor page in Chromium', () => {
  beforeAll(async () => {
    service = await startServiceProcess({ env: { LOG_LEVEL: 'warn' } });
    api = new OrchestratorClient(service.url, service.platformToken);
    bu1 = await api.seedBusinessUnit('bu-one');
    bu2 = await api.seedBusinessUnit('bu-two');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
      timeout: 30_000,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
  });

  it('after sign-in with a SecurityUser, a contact started through the API appears within 2 s; the credential stays in session storage', async () => {
    const page = await signedIn(bu1.ender);
    await expect.poll(() => page.getByText(`Signed in as agent ${bu1.enderId}, business unit bu-one`).count()).toBe(1);
    await page.getByText(/contacts loaded; following live changes/).waitFor({ timeout: 5_000 });
    const contactId = await api.startContact('bu-one', 'Phone');
    const started = performance.now();
    await row(page, contactId).waitFor({ state: 'visible', timeout: 2_000 });
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect.poll(() => row(page, contactId).getByRole('cell').nth(2).textContent()).toBe('Active');
    expect(page.url()).not.toContain(bu1.ender);
    expect(
      await page.evaluate<{ session: string[]; local: number }>(
        '({ session: Object.values(sessionStorage), local: localStorage.length })',
      ),
    ).toEqual({ session: [bu1.ender], local: 0 });
    await page.context().close();
  });

  it('End contact {id}, confirmed with the keyboard, turns its row to Ended and says OnSuccess; its history opens beside the table', async () => {
    const contactId = await api.startContact('bu-one', 'Email');
    const page = await signedIn(bu1.ender);
    await page.getByLabel('State', { exact: true }).selectOption('');
    await row(page, contactId).waitFor({ timeout: 5_000 });
    await page.getByRole('button', { name: `End contact ${contactId}` }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `End contact ${contactId}?` });
    await dialog.waitFor();
    // Cancel has the focus first: Enter alone never ends a contact. Tab to the yes.
    await page.keyboard.press('Tab');
    await expect
      .poll(() => page.evaluate<string | undefined>('document.activeElement?.textContent'))
      .toBe('Yes, end it');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => row(page, contactId).getByRole('cell').nth(2).textContent(), { timeout: 5_000 })
      .toBe('Ended');
    expect(await page.getByRole('status').filter({ hasText: contactId }).textContent()).toContain('OnSuccess');
    expect((await api.request('GET', `/v1/contacts/${contactId}`)).body).toMatchObject({
      state: 'Ended',
      endedBy: bu1.enderId,
    });
    await page.getByRole('button', { name: `History of ${contactId}` }).click();
    const history = page.getByRole('complementary', { name: `Contact history: ${contactId}` });
    await expect.poll(() => history.getByRole('listitem').count()).toBe(2);
    expect(await history.textContent()).toContain(`ended by agent ${bu1.enderId}`);
    await page.context().close();
  });

  it('End all matching over 50 filtered Chat contacts shows progress and "50 OnSuccess"; other media types stay active; a screenshot is written', async () => {
    const chats = await Promise.all(Array.from({ length: 50 }, () => api.startContact('bu-one', 'Chat')));
    const phone = await api.startContact('bu-one', 'Phone');
    const page = await signedIn(bu1.ender);
    await page.getByLabel('Media type', { exact: true }).selectOption('Chat');
    await expect
      .poll(() => page.getByRole('list', { name: 'Counts per media type' }).getByText('Chat: 50').count(), {
        timeout: 5_000,
      })
      .toBe(1);
    // Record every value the progress bar takes.
    await page.evaluate(`{
      const bar = document.querySelector('progress');
      const seen = (window.progressSeen = []);
      new MutationObserver(() => seen.push(bar.value)).observe(bar, { attributes: true });
    }`);
    await page.getByRole('button', { name: 'End all matching' }).click();
    await page
      .getByRole('dialog', { name: 'End all 50 matching contacts?' })
      .getByRole('button', { name: 'Yes, end 50' })
      .click();
    const summary = page.getByRole('list', { name: 'Bulk end summary' });
    await summary.getByText('50 OnSuccess').waitFor({ timeout: 20_000 });
    const bar = page.getByRole('progressbar', { name: 'Bulk end progress' });
    expect(
      await bar.evaluate((el) => [(el as unknown as { value: number }).value, (el as unknown as { max: number }).max]),
    ).toEqual([50, 50]);
    const seen = await page.evaluate<number[]>('window.progressSeen');
    expect(seen.length).toBeGreaterThan(2);
    expect(await page.getByText('Done: 50 of 50 contacts handled.').count()).toBe(1);
    await page.getByLabel('State', { exact: true }).selectOption('');
    await expect
      .poll(() => page.getByRole('cell', { name: 'Ended', exact: true }).count(), { timeout: 5_000 })
      .toBeGreaterThanOrEqual(50);
    for (const id of chats.slice(0, 5))
      expect((await api.request('GET', `/v1/contacts/${id}`)).body).toMatchObject({ state: 'Ended' });
    expect((await api.request('GET', `/v1/contacts/${phone}`)).body).toMatchObject({ state: 'Active' });
    await page.getByRole('button', { name: `History of ${chats[0]}` }).click();
    await page
      .getByRole('complementary', { name: `Contact history: ${chats[0]}` })
      .getByText('ended by agent')
      .waitFor();
    await page.evaluate('window.scrollTo(0, 0)');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(existsSync(SCREENSHOT)).toBe(true);
    await page.context().close();
  });

  it('an agent of another business unit never sees those rows, listed or live', async () => {
    const before = await api.startContact('bu-one', 'SMS');
    const page = await signedIn(bu2.ender);
    await page.getByText(`Signed in as agent ${bu2.enderId}, business unit bu-two`).waitFor();
    await page.getByLabel('State', { exact: true }).selectOption('');
    const live = await api.startContact('bu-one', 'SMS');
    const own = await api.startContact('bu-two', 'SMS');
    await row(page, own).waitFor({ timeout: 5_000 });
    const shown = await page
      .locator('tbody tr')
      .evaluateAll((rows) =>
        rows.map((r) => (r as unknown as { dataset: Record<string, string> }).dataset['contactId']),
      );
    expect(shown).toEqual([own]);
    for (const id of [before, live]) expect(await page.getByText(id).count()).toBe(0);
    await page.context().close();
  });

  it('the media type filter offers every media type a contact can have, in the same order (the page keeps its own list)', async () => {
    const page = await signedIn(bu1.viewer);
    const options = page.getByLabel('Media type', { exact: true }).locator('option');
    const offered = await options.evaluateAll((all) => all.map((o) => (o as unknown as { value: string }).value));
    expect(offered).toEqual(['', ...MEDIA_TYPES]);
    await page.context().close();
  });

  it('a wrong token shows the OnInvalidSecurityUser explanation, and nothing is kept', async () => {
    const page = await signedIn(`${bu1.ender.slice(0, -4)}AAAA`);
    const alert = page.getByRole('alert');
    await alert.getByText('OnInvalidSecurityUser').waitFor({ timeout: 5_000 });
    expect(await alert.textContent()).toMatch(/this token is not valid/);
    expect(await page.getByRole('table', { name: 'Live contacts' }).isVisible()).toBe(false);
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    await page.context().close();
  });
});
