/**
 * The dashboard's browser scenario, run as its own process by
 * `tests/integration/dashboard_browser_test.ts` (playwright-core needs permissions the test
 * runner does not grant, such as reading /proc). Exits 0 when every check passed; failures are
 * printed on stderr with a non-zero exit.
 *
 * Scenario: headless Debian Chromium driven by playwright-core loads every page against a live
 * broker, creates a topic through the form, sees TPS move after the real producer sends, finds a
 * message by key, resets a group's offset, and collects console errors (there must be none).
 * Screenshots go to a temp dir, or to docs/screenshots/ when RMQ_UPDATE_SCREENSHOTS=1 (how the
 * committed ones were made).
 *
 * @module
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startTestBroker } from "./broker.ts";
import { until } from "./consume.ts";
import { BrokerHttpServer } from "../../broker/http/http_server.ts";
import { createProducer } from "../../client/producer.ts";

/** Chromium from PATH (Debian's `chromium` package; `.ci/run` installs it when missing). */
function chromiumPath(): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // not here
      }
    }
  }
  throw new Error("Chromium is not on PATH: apt-get install -y chromium (.ci/run does)");
}

async function scenario(): Promise<void> {
  await using broker = await startTestBroker();
  await using http = BrokerHttpServer.start({
    source: broker.broker.operations,
    hostname: "127.0.0.1",
    port: 0,
  });
  const base = `http://127.0.0.1:${http.port}`;
  const shots = Deno.env.get("RMQ_UPDATE_SCREENSHOTS") === "1"
    ? new URL("../../docs/screenshots/", import.meta.url).pathname
    : await Deno.makeTempDir({ prefix: "rmq_screens_" });
  await Deno.mkdir(shots, { recursive: true });

  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(String(error)));

    // Broker page.
    await page.goto(`${base}/#/broker`);
    await page.waitForSelector("#tps-in");
    assert.match(await page.textContent("#title") ?? "", /broker-a/);

    // Cluster page: without a name server, this broker alone.
    await page.goto(`${base}/#/cluster`);
    await page.waitForSelector("td:has-text('(this one)')");

    // Topics: create one through the form.
    await page.goto(`${base}/#/topics`);
    await page.waitForSelector("#create-topic");
    await page.fill("#create-topic input[name=topic]", "BrowserTopic");
    await page.fill("#create-topic input[name=readQueueNums]", "2");
    await page.fill("#create-topic input[name=writeQueueNums]", "2");
    await page.click("#create-topic button[type=submit]");
    await page.waitForSelector("a[href='#/topic/BrowserTopic']");
    assert.equal(broker.broker.operations.topics.get("BrowserTopic")?.writeQueueNums, 2);
    await page.screenshot({ path: `${shots}/topics.png` });

    // Send through the client; the broker page's TPS moves.
    const endpoint = `127.0.0.1:${broker.port}`;
    await using producer = await createProducer({ endpoint, group: "browser-pg" });
    for (let i = 0; i < 200; i++) {
      await producer.send({
        topic: "BrowserTopic",
        body: `browser message ${i}`,
        keys: [`bk-${i}`],
      });
    }
    // Two chart points (the sampler runs every 5 s; the test takes them at once).
    http.history.sample();
    for (let i = 0; i < 50; i++) {
      await producer.send({ topic: "BrowserTopic", body: `more ${i}`, keys: [`more-${i}`] });
    }
    http.history.sample();
    await until(async () => {
      await page.goto(`${base}/#/broker`);
      await page.reload();
      await page.waitForSelector("#tps-in");
      return Number((await page.textContent("#tps-in"))?.replaceAll(",", "")) > 0;
    }, "TPS in to move");
    assert.equal(await page.textContent("#messages-in"), "250");
    await page.waitForSelector("#tps-chart canvas");
    await page.screenshot({ path: `${shots}/broker.png` });

    // Topic detail: queues with offsets.
    await page.goto(`${base}/#/topic/BrowserTopic`);
    await page.waitForSelector("text=Queues");
    // Update its queues and perm from the topic page.
    await page.fill("#update-topic input[name=writeQueueNums]", "3");
    await page.fill("#update-topic input[name=readQueueNums]", "3");
    await page.click("#update-topic button[type=submit]");
    await page.waitForSelector("#status:has-text('Updated BrowserTopic')");
    assert.equal(broker.broker.operations.topics.get("BrowserTopic")?.writeQueueNums, 3);
    await page.screenshot({ path: `${shots}/topic.png` });

    // Messages: find one by key.
    await page.goto(`${base}/#/messages`);
    await page.waitForSelector("#search");
    await page.fill("#search input[name=topic]", "BrowserTopic");
    await page.fill("#search input[name=key]", "bk-42");
    await page.click("#search button[type=submit]");
    await page.waitForSelector(".message pre.body");
    assert.equal(await page.textContent(".message pre.body"), "browser message 42");
    await page.screenshot({ path: `${shots}/messages.png` });

    // A dead letter: found by key in its DLQ topic and resent to the group's retry topic.
    await broker.broker.store.putMessage({
      topic: "%DLQ%browser-group",
      queueId: 0,
      flag: 0,
      body: new TextEncoder().encode("gave up"),
      properties: "KEYS\u0001dead-1\u0002",
      sysFlag: 0,
      bornTimestamp: Date.now(),
      bornHost: { ip: new Uint8Array([127, 0, 0, 1]), port: 1 },
      reconsumeTimes: 16,
      preparedTransactionOffset: 0,
    });
    await page.fill("#search input[name=topic]", "%DLQ%browser-group");
    await page.fill("#search input[name=key]", "dead-1");
    await page.click("#search button[type=submit]");
    await page.waitForSelector(".message button:has-text('Resend')");
    await page.click(".message button:has-text('Resend')");
    await page.waitForSelector("#status:has-text('Resent to %RETRY%browser-group')");
    assert.equal(broker.broker.store.getMaxOffsetInQueue("%RETRY%browser-group", 0), 1);

    // Groups: a group that has read nothing; reset its offset to now.
    const store = broker.broker.store;
    for (const q of [0, 1]) store.commitConsumerOffset("browser-group", "BrowserTopic", q, 0);
    await page.goto(`${base}/#/groups`);
    await page.waitForSelector("a[href='#/group/browser-group']");
    await page.screenshot({ path: `${shots}/groups.png` });
    await page.click("a[href='#/group/browser-group']");
    await page.waitForSelector("#reset-offset");
    await page.click("#reset-offset button[type=submit]");
    await page.waitForSelector("#status:has-text('Reset 3 queues')");
    for (const q of [0, 1]) {
      assert.equal(
        store.queryConsumerOffset("browser-group", "BrowserTopic", q),
        store.getMaxOffsetInQueue("BrowserTopic", q),
      );
    }
    await page.screenshot({ path: `${shots}/group.png` });
    assert.equal(errors.length, 0, errors.join("\n"));

    // With access control on, the dashboard asks for an admin account and lists denials.
    const aclDir = await Deno.makeTempDir({ prefix: "rmq_browser_acl_" });
    try {
      await Deno.writeTextFile(
        `${aclDir}/acl.yml`,
        "accounts:\n  - accessKey: dashAdmin\n    secretKey: dash-secret\n    admin: true\n",
      );
      await using aclBroker = await startTestBroker({ aclFile: `${aclDir}/acl.yml` });
      await using aclHttp = BrokerHttpServer.start({
        source: aclBroker.broker.operations,
        hostname: "127.0.0.1",
        port: 0,
      });
      // An unsigned client is denied (its first heartbeat already is).
      await assert.rejects(createProducer({ endpoint: `127.0.0.1:${aclBroker.port}` }));
      const context = await browser.newContext({
        httpCredentials: { username: "dashAdmin", password: "dash-secret" },
        viewport: { width: 1366, height: 800 },
      });
      const aclPage = await context.newPage();
      aclPage.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      aclPage.on("pageerror", (error) => errors.push(String(error)));
      await aclPage.goto(`http://127.0.0.1:${aclHttp.port}/#/broker`);
      await aclPage.waitForSelector("text=Access control: 1 accounts");
      await aclPage.waitForSelector("td:has-text('not signed')");
      await context.close();
      assert.equal(errors.length, 0, errors.join("\n"));
    } finally {
      await Deno.remove(aclDir, { recursive: true });
    }
  } finally {
    await browser.close();
    if (Deno.env.get("RMQ_UPDATE_SCREENSHOTS") !== "1") {
      await Deno.remove(shots, { recursive: true }).catch(() => {});
    }
  }
}

await scenario();
