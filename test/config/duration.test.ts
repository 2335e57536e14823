import t from 'tap';
import { parseDuration, formatDuration } from '../../agent/config/duration.ts';

t.equal(parseDuration('30s'), 30_000);
t.equal(parseDuration('5m'), 300_000);
t.equal(parseDuration('1h30m'), 5_400_000);
t.equal(parseDuration('250ms'), 250);
t.equal(parseDuration('1.5s'), 1500);
t.equal(parseDuration('2'), 2000, 'bare numbers are seconds');
t.equal(parseDuration('2d'), 172_800_000);
for (const bad of ['', 's', '5x', '5m trailing', '-1s', 'm5', '5 m']) t.equal(parseDuration(bad), undefined, `"${bad}" rejected`);
t.equal(formatDuration(120_000), '2m');
t.equal(formatDuration(7_200_000), '2h');
t.equal(formatDuration(1500), '1500ms');
t.equal(formatDuration(3000), '3s');
