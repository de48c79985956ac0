/**
 * Preloaded into a benchmark's child process (`node --import .../peak-rss.js ...`): on exit,
 * writes the process's peak resident set size to the file named by BENCH_RSS_FILE. The kernel's
 * own high-water mark (getrusage), worker threads included, so nothing short-lived is missed
 * between samples and nothing about the measured command changes.
 */
import { writeFileSync } from 'node:fs';

const out = process.env['BENCH_RSS_FILE'];
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS })));
