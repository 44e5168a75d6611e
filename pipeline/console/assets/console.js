// driftwatch console: draws the charts (uPlot) from the JSON blocks the server rendered, and submits filter forms on
// change. Plain script, no inline code anywhere: the Content-Security-Policy allows scripts from this console only.
(function () {
  'use strict';

  var colors = { line: '#2563eb', fill: 'rgba(37, 99, 235, 0.10)', open: '#f59e0b', overdue: '#dc2626' };

  function trendOptions(spec, width) {
    return {
      width: width,
      height: 220,
      scales: {
        x: spec.range ? { time: true, range: spec.range } : { time: true },
        y: {
          range: function (u, min, max) {
            var low = min === null || isNaN(min) ? 0 : Math.max(0, Math.floor(min - 5));
            return [low, 100];
          },
        },
      },
      series: [
        {},
        { label: spec.label, stroke: colors.line, width: 2, fill: colors.fill, spanGaps: false, points: { show: spec.x.length < 45 } },
      ],
      axes: [{}, { values: function (u, values) { return values.map(function (v) { return v + ' %'; }); } }],
    };
  }

  function barOptions(spec, width) {
    var n = spec.labels.length;
    var xs = spec.labels.map(function (_, i) { return i; });
    var max = 1;
    spec.series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    var palette = [colors.open, colors.overdue];
    var series = [{}].concat(spec.series.map(function (s, i) {
      return {
        label: s.label,
        stroke: palette[i % palette.length],
        fill: palette[i % palette.length],
        width: 0,
        points: { show: false },
        paths: uPlot.paths.bars({ size: [0.35, 80], align: spec.series.length === 1 ? 0 : i === 0 ? -1 : 1 }),
      };
    }));
    return {
      width: width,
      height: 220,
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: [0, Math.ceil(max * 1.1)] } },
      series: series,
      axes: [
        { splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (i) { return spec.labels[i] || ''; }); } },
        {},
      ],
      cursor: { points: { show: false } },
      _data: [xs].concat(spec.series.map(function (s) { return s.values; })),
    };
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute('data-chart') + '-data');
    if (!source || typeof uPlot === 'undefined') return;
    var spec = JSON.parse(source.textContent);
    var width = Math.max(240, el.clientWidth || 480);
    var plot;
    if (spec.kind === 'trend') {
      plot = new uPlot(trendOptions(spec, width), [spec.x, spec.y], el);
    } else if (spec.kind === 'bars') {
      var options = barOptions(spec, width);
      var data = options._data;
      delete options._data;
      plot = new uPlot(options, data, el);
    } else {
      return;
    }
    el.setAttribute('data-drawn', 'true');
    window.addEventListener('resize', function () {
      plot.setSize({ width: Math.max(240, el.clientWidth || 480), height: 220 });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-chart]'), draw);
    Array.prototype.forEach.call(document.querySelectorAll('form[data-autosubmit] select'), function (select) {
      select.addEventListener('change', function () { select.form.submit(); });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
