// Package webtest holds the web page's tests in a real headless Chromium,
// driven from Go with chromedp: a real ask server (the built-in models, a
// temporary SQLite knowledge base) on loopback, a collection created,
// files uploaded through the page's file input, questions asked, and the
// highlighted answers read back from the page; the pasted-text mode; and
// streamed generated answers with a scripted OpenAI-compatible upstream.
//
// It has tests only. They skip when no Chromium or Chrome is installed
// (Debian: apt-get install chromium; or set ASK_CHROME to the browser),
// and keep a screenshot of each step under $ASK_TEST_ARTIFACTS when it is
// set (else in the test's temporary folder).
package webtest
