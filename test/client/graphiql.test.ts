import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { chromiumPath, skipBrowserTests } from '../helpers/prerequisites.js';

// Without chromium this test fails (launch error) unless SKIP_BROWSER_TESTS=1 says to skip it.
const CHROMIUM = chromiumPath;
if (skipBrowserTests) console.warn('graphiql browser test skipped: SKIP_BROWSER_TESTS=1');

/** chromium.launch, its failure naming the fix (a missing browser fails the test; it is never skipped quietly). */
async function launchChromium(options: Parameters<typeof chromium.launch>[0]): Promise<Browser> {
  try {
    return await chromium.launch(options);
  } catch (err) {
    throw new Error(
      `chromium (${CHROMIUM}) could not be started: apt-get install -y chromium, or SKIP_BROWSER_TESTS=1 to skip this test (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    );
  }
}

const SCREENSHOT = 'test-artifacts/graphiql.png';
// Rewritten only when missing or asked for, so running the tests does not dirty the committed image.
const DOCS_SCREENSHOT = 'docs/graphiql.png';

describe.skipIf(skipBrowserTests)('GraphiQL in a real browser', () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness();
    browser = await launchChromium({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** The text GraphiQL shows in its result panel once `done` matches it. */
  async function resultWhen(page: Page, done: RegExp): Promise<string> {
    await page.waitForFunction(
      (source) =>
        new RegExp(source).test(
          (document.querySelector('.graphiql-response')?.textContent ?? '').replace(/\u00a0/g, ' '),
        ),
      done.source,
      { timeout: 15_000 },
    );
    return editorText(page, '.graphiql-response');
  }

  /** What a Monaco editor shows, with its non-breaking spaces made plain. */
  async function editorText(page: Page, selector: string): Promise<string> {
    return ((await page.locator(selector).textContent()) ?? '').replace(/\u00a0/g, ' ');
  }

  async function runOperation(page: Page, name: string): Promise<void> {
    // With several operations in the editor, the run button asks which one to run.
    await page.locator('.graphiql-execute-button').click();
    await page.getByRole('menuitem', { name, exact: true }).click();
  }

  async function fillEditorTool(page: Page, tab: 'Headers' | 'Variables', text: string): Promise<void> {
    await page.getByRole('button', { name: tab, exact: true }).click();
    const editor = page.locator('.graphiql-editor-tool .monaco-editor').filter({ visible: true }).first();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText bypasses Monaco's auto-closing of brackets and quotes.
    await page.keyboard.insertText(text);
  }

  it('logs in, sets the header and approves a pending ticket through the page, offline', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const gatewayOrigin = new URL(h.url).origin;
    const external: string[] = [];
    // The machine running CI may have no internet: every asset must come from the gateway itself.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${gatewayOrigin}/`) || url.startsWith('data:') || url.startsWith('blob:')) {
        return route.continue();
      }
      external.push(url);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await page.goto(h.url);
    await page.locator('.graphiql-execute-button').waitFor({ timeout: 20_000 });
    await expect.poll(() => editorText(page, '.graphiql-query-editor')).toContain('mutation LogIn');

    await runOperation(page, 'LogIn');
    const loggedIn = await resultWhen(page, /"uuid": "[0-9a-f]{32}"/);
    const session = /"uuid": "([0-9a-f]{32})"/.exec(loggedIn)?.[1];
    expect(session).toBeDefined();

    const pending = h.simulator.controls.listTickets().find((t) => t.status === 'Pending');
    const uuid = pending?.uuid as string;
    expect(uuid).toMatch(/^[0-9a-f]{32}$/);
    await fillEditorTool(page, 'Headers', JSON.stringify({ Authorization: `OAuth ${session}` }));
    await fillEditorTool(page, 'Variables', JSON.stringify({ uuid }));

    await runOperation(page, 'PendingTickets');
    const listed = await resultWhen(page, /"tickets"|"errors"/);
    expect(listed).not.toContain('"errors"');
    expect(listed).toContain(`"uuid": "${uuid}"`);
    h.simulator.controls.clearRequests();

    await runOperation(page, 'Approve');
    const approved = await resultWhen(page, /"changeTicketStatus"|"errors"/);
    expect(approved).not.toContain('"errors"');
    expect(approved).toContain(`"uuid": "${uuid}"`);
    const statusNow = h.simulator.controls.getTicket(uuid)?.status;
    expect(['IntermediateApproved', 'FinalApproved']).toContain(statusNow);
    const shown = statusNow === 'FinalApproved' ? 'FINAL_APPROVED' : 'INTERMEDIATE_APPROVED';
    expect(approved).toContain(`"status": "${shown}"`);

    const puts = h.simulator.controls.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]?.path).toBe(`/zstack/v1/tickets/${uuid}/actions`);
    expect(puts[0]?.headers.authorization).toBe(`OAuth ${session}`);
    expect(JSON.parse(puts[0]?.body ?? '{}')).toMatchObject({
      changeTicketStatus: { statusEvent: 'approve' },
    });

    // Leave the Headers tab open so the screenshot shows where the session goes.
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    if (!existsSync(DOCS_SCREENSHOT) || process.env.UPDATE_DOCS_SCREENSHOT === '1') {
      await mkdir('docs', { recursive: true });
      await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
    }

    expect(external).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
