/* cmltrack charts: the BCR::ABL1 course, blood counts, cumulative incidence and Kaplan-Meier.
 * Data come from <script type="application/json"> blocks the server wrote (never executed);
 * every text is set with .text() (never as HTML), so a value from a record cannot run.
 * Decision support, not a medical device. */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function fmtPct(v) {
    if (v === null || v === undefined) return "-";
    return (v >= 1 ? d3.format(".3~g")(v) : d3.format(".2~r")(v)) + "%";
  }

  var STATUS_LABEL = {optimal: "optimal", warning: "warning", suboptimal: "suboptimal", failure: "failure"};

  /* ------------------------------------------------------------ BCR::ABL1 */
  function drawBcrAbl1(host, data, tip) {
    var W = 900, H = 430, m = {top: 26, right: 78, bottom: 86, left: 64};
    var iw = W - m.left - m.right, ih = H - m.top - m.bottom;
    var svg = d3.select(host).append("svg")
      .attr("viewBox", "0 0 " + W + " " + H)
      .attr("aria-hidden", "false")
      .attr("focusable", "false");
    var g = svg.append("g").attr("transform", "translate(" + m.left + "," + m.top + ")");
    var x = d3.scaleLinear().domain(data.x).range([0, iw]);
    var y = d3.scaleLog().domain(data.y).range([ih, 0]);
    var clip = "clip-" + Math.random().toString(36).slice(2);
    svg.append("defs").append("clipPath").attr("id", clip)
      .append("rect").attr("width", iw).attr("height", ih);
    var plot = g.append("g").attr("clip-path", "url(#" + clip + ")");

    // Milestone zones: one group per landmark window, one rect per band of the guideline cell.
    var zones = plot.append("g").attr("class", "zones");
    data.zones.forEach(function (z) {
      var zg = zones.append("g")
        .attr("data-testid", "milestone-zone")
        .attr("data-label", z.label)
        .attr("data-start", z.start)
        .attr("data-end", z.end);
      z.bands.forEach(function (b) {
        var top = y(Math.min(b.high, data.y[1])), bottom = y(Math.max(b.low, data.y[0]));
        zg.append("rect")
          .attr("class", "zone zone-" + b.status)
          .attr("data-status", b.status)
          .attr("x", x(z.start)).attr("width", Math.max(0, x(z.end) - x(z.start)))
          .attr("y", top).attr("height", Math.max(0, bottom - top))
          .append("title").text(z.label + ": " + b.text + " is " + (STATUS_LABEL[b.status] || b.status));
      });
      var wide = x(z.end) - x(z.start) > z.label.length * 7 + 6;
      var t = zg.append("text").attr("class", "zone-label")
        .attr("text-anchor", wide ? "middle" : "start");
      if (wide) {
        t.attr("x", (x(z.start) + x(z.end)) / 2).attr("y", 13);
      } else {
        t.attr("transform", "translate(" + ((x(z.start) + x(z.end)) / 2 + 4) + ",6) rotate(90)");
      }
      t.text(z.label);
    });

    // Decade grid and axes.
    var decades = [];
    for (var e = Math.ceil(Math.log10(data.y[0])); e <= Math.floor(Math.log10(data.y[1])); e++) decades.push(Math.pow(10, e));
    g.append("g").attr("class", "axis y")
      .call(d3.axisLeft(y).tickValues(decades).tickFormat(function (v) { return d3.format("~g")(v) + "%"; }));
    g.append("g").attr("class", "axis x").attr("transform", "translate(0," + ih + ")")
      .call(d3.axisBottom(x).ticks(Math.min(14, (data.x[1] - data.x[0]) / 6)));
    g.append("text").attr("class", "axis-title").attr("transform", "rotate(-90)")
      .attr("x", -ih / 2).attr("y", -50).attr("text-anchor", "middle").attr("font-size", 12)
      .text("BCR::ABL1 % IS (log scale)");
    g.append("text").attr("x", iw / 2).attr("y", ih + 78).attr("text-anchor", "middle")
      .attr("font-size", 12).text(data.xlabel);

    // MMR, MR4, MR4.5 lines.
    data.lines.forEach(function (l, i) {
      g.append("line").attr("class", "mr-line l" + i)
        .attr("data-testid", "mr-line").attr("data-label", l.label).attr("data-value", l.value)
        .attr("x1", 0).attr("x2", iw).attr("y1", y(l.value)).attr("y2", y(l.value));
      g.append("text").attr("class", "mr-label").attr("x", iw + 4).attr("y", y(l.value) + 4)
        .text(l.label + " " + d3.format("~g")(l.value) + "%");
    });
    if (data.tki_lines > 1) {
      plot.append("line").attr("class", "line-start")
        .attr("x1", x(data.line_start)).attr("x2", x(data.line_start)).attr("y1", 0).attr("y2", ih);
    }

    // Reported events (death, TKI stop, transplant, progression) as dotted verticals.
    data.events.forEach(function (ev) {
      if (ev.months < data.x[0] || ev.months > data.x[1]) return;
      plot.append("line").attr("class", "event-line")
        .attr("x1", x(ev.months)).attr("x2", x(ev.months)).attr("y1", 0).attr("y2", ih);
      g.append("text").attr("class", "event-label")
        .attr("transform", "translate(" + (x(ev.months) + 3) + ",18) rotate(90)")
        .text(ev.label + " " + ev.date);
    });

    // Therapy and dose as bands under the axis (gaps are holds).
    var band = g.append("g").attr("class", "therapy-strip").attr("transform", "translate(0," + (ih + 30) + ")");
    band.append("text").attr("x", -6).attr("y", 11).attr("text-anchor", "end").attr("class", "therapy-label").text("mg/d");
    data.therapy.forEach(function (t, i) {
      var a = Math.max(x(t.start), 0), b = Math.min(x(Math.max(t.end, t.start + 0.05)), iw);
      if (b <= a) return;
      band.append("rect").attr("class", "therapy " + (t.tki ? "tki" + (i % 2 ? " alt" : "") : "other"))
        .attr("data-testid", "therapy-band")
        .attr("x", a).attr("width", b - a).attr("y", t.tki ? 0 : 18).attr("height", t.tki ? 16 : 8)
        .append("title").text(t.label + " from month " + d3.format(".1f")(t.start) + " to " + d3.format(".1f")(t.end));
      if (b - a > t.label.length * 6.2 + 4 && t.tki) {
        band.append("text").attr("class", "therapy-label").attr("x", a + 3).attr("y", 12).text(t.label);
      }
    });

    // The course, then one mark per PCR result.
    var floor = data.y[0] * 1.4;
    function py(p) { return y(p.value === null ? floor : p.value); }
    plot.append("path").attr("class", "course")
      .attr("d", d3.line().x(function (p) { return x(p.months); }).y(py)(data.points));
    var tri = d3.symbol().type(d3.symbolTriangle).size(70);
    data.points.forEach(function (p) {
      var kind = p.detected ? "detected" : (p.value === null ? "unknown" : "undetected");
      var el = p.detected
        ? g.append("circle").attr("r", 4.5).attr("cx", x(p.months)).attr("cy", py(p))
        : g.append("path").attr("d", tri)
            .attr("transform", "translate(" + x(p.months) + "," + py(p) + ") rotate(180)");
      var copies = p.control_copies ? d3.format(",")(p.control_copies) + " " + p.control_gene + " copies" : "control copies not given";
      var text = p.date + ": " + (p.detected ? "BCR::ABL1 " + fmtPct(p.value) + " IS"
        : "undetected" + (p.value !== null ? ", sensitivity " + fmtPct(p.value) : "")) +
        " (" + copies + ")" + (p.molecular ? ", " + p.molecular : "") +
        ", month " + d3.format(".1f")(p.months);
      el.attr("class", "pcr-point " + kind)
        .attr("data-testid", "pcr-point")
        .attr("data-date", p.date)
        .attr("data-value", p.value === null ? "" : p.value)
        .attr("data-detected", p.detected ? "true" : "false")
        .attr("data-control-copies", p.control_copies === null ? "" : p.control_copies)
        .attr("tabindex", 0)
        .attr("role", "img")
        .attr("aria-label", text);
      function show(evt) {
        var box = host.getBoundingClientRect();
        var r = evt.target.getBoundingClientRect();
        tip.textContent = text;
        tip.hidden = false;
        tip.style.left = Math.min(r.left - box.left + 12, box.width - 260) + "px";
        tip.style.top = (r.top - box.top - 8) + "px";
      }
      el.on("mouseenter", show).on("focus", show)
        .on("mouseleave", function () { tip.hidden = true; })
        .on("blur", function () { tip.hidden = true; });
    });
    host.setAttribute("data-ready", "true");
  }

  /* ------------------------------------------------------------ blood counts */
  var COUNT_LABELS = {wbc: "WBC x10^9/L", anc: "ANC x10^9/L", platelets: "Platelets x10^9/L", hemoglobin: "Hemoglobin g/dL"};
  function drawCounts(host, series) {
    var keys = Object.keys(series).filter(function (k) { return series[k].length; });
    if (!keys.length) { host.textContent = "No blood count recorded."; return; }
    var W = 900, ph = 90, gap = 26, m = {top: 10, right: 20, bottom: 28, left: 64};
    var H = m.top + m.bottom + keys.length * (ph + gap);
    var parse = d3.utcParse("%Y-%m-%d");
    var all = [];
    keys.forEach(function (k) { series[k].forEach(function (d) { all.push(parse(d[0])); }); });
    var x = d3.scaleUtc().domain(d3.extent(all)).range([0, W - m.left - m.right]);
    var svg = d3.select(host).append("svg").attr("viewBox", "0 0 " + W + " " + H);
    keys.forEach(function (k, i) {
      var g = svg.append("g").attr("transform", "translate(" + m.left + "," + (m.top + i * (ph + gap)) + ")");
      var vals = series[k].map(function (d) { return [parse(d[0]), d[1]]; });
      var y = d3.scaleLinear().domain([0, d3.max(vals, function (d) { return d[1]; }) * 1.1 || 1]).nice().range([ph, 0]);
      g.append("g").attr("class", "axis y").call(d3.axisLeft(y).ticks(3));
      g.append("g").attr("class", "axis x").attr("transform", "translate(0," + ph + ")")
        .call(d3.axisBottom(x).ticks(8));
      g.append("text").attr("x", 6).attr("y", 10).attr("font-size", 11).text(COUNT_LABELS[k] || k);
      g.append("path").attr("class", "series s" + (i % 4)).attr("data-testid", "count-series").attr("data-series", k)
        .attr("d", d3.line().x(function (d) { return x(d[0]); }).y(function (d) { return y(d[1]); })(vals));
    });
  }

  /* ------------------------------------------------------------ CTCAE grades */
  // One row per term, one mark per graded day: height and shade by grade (1-4), so the
  // course of a toxicity reads along its row. Every mark carries data-term, data-date and
  // data-grade (test hooks) and a <title> with the same text.
  function drawGrades(host, series) {
    var terms = Object.keys(series).filter(function (k) { return series[k].length; });
    if (!terms.length) return;
    var W = 900, row = 30, m = {top: 8, right: 20, bottom: 28, left: 250};
    var H = m.top + m.bottom + terms.length * row;
    var parse = d3.utcParse("%Y-%m-%d");
    var all = [];
    terms.forEach(function (t) { series[t].forEach(function (d) { all.push(parse(d[0])); }); });
    var ext = d3.extent(all);
    if (+ext[0] === +ext[1]) ext = [d3.utcMonth.offset(ext[0], -1), d3.utcMonth.offset(ext[1], 1)];
    var x = d3.scaleUtc().domain(ext).range([0, W - m.left - m.right]);
    var svg = d3.select(host).append("svg").attr("viewBox", "0 0 " + W + " " + H);
    var g = svg.append("g").attr("transform", "translate(" + m.left + "," + m.top + ")");
    g.append("g").attr("class", "axis x").attr("transform", "translate(0," + terms.length * row + ")")
      .call(d3.axisBottom(x).ticks(8));
    terms.forEach(function (t, i) {
      var r = g.append("g").attr("data-testid", "grade-row").attr("data-term", t)
        .attr("transform", "translate(0," + i * row + ")");
      r.append("line").attr("class", "grade-track").attr("x1", 0).attr("x2", x.range()[1])
        .attr("y1", row - 4).attr("y2", row - 4);
      r.append("text").attr("x", -8).attr("y", row - 8).attr("text-anchor", "end")
        .attr("font-size", 11).text(t);
      series[t].forEach(function (d) {
        var h = 5 * d[1];
        r.append("rect").attr("class", "grade-mark g" + d[1]).attr("data-testid", "grade-mark")
          .attr("data-term", t).attr("data-date", d[0]).attr("data-grade", d[1])
          .attr("x", x(parse(d[0])) - 3).attr("width", 6).attr("y", row - 4 - h).attr("height", h)
          .append("title").text(d[0] + ": " + t + " grade " + d[1]);
      });
    });
    host.setAttribute("data-ready", "true");
  }

  /* ------------------------------------------------------------ cohort curves */
  function stepPlot(host, curves, opts) {
    var W = 900, m = {top: 16, right: 30, bottom: 44 + (opts.atRisk ? 22 * (curves.length + 1) : 0), left: 90};
    var ih = 300, H = m.top + ih + m.bottom, iw = W - m.left - m.right;
    var tmax = d3.max(curves, function (c) { return c.end; }) || 12;
    var x = d3.scaleLinear().domain([0, Math.max(12, tmax)]).nice().range([0, iw]);
    var y = d3.scaleLinear().domain([0, 1]).range([ih, 0]);
    var svg = d3.select(host).append("svg").attr("viewBox", "0 0 " + W + " " + H);
    var g = svg.append("g").attr("transform", "translate(" + m.left + "," + m.top + ")");
    g.append("g").attr("class", "axis y").call(d3.axisLeft(y).ticks(5).tickFormat(d3.format(".0%")));
    g.append("g").attr("class", "axis x").attr("transform", "translate(0," + ih + ")").call(d3.axisBottom(x).ticks(10));
    g.append("text").attr("x", iw / 2).attr("y", ih + 34).attr("text-anchor", "middle").attr("font-size", 12)
      .text("months from the start of the first TKI");
    g.append("text").attr("transform", "rotate(-90)").attr("x", -ih / 2).attr("y", -48)
      .attr("text-anchor", "middle").attr("font-size", 12).text(opts.ylabel);
    curves.forEach(function (c, i) {
      var pts = c.steps.slice();
      pts.push([c.end, pts[pts.length - 1][1]]);
      g.append("path").attr("class", "series s" + (i % 4)).attr("data-testid", opts.seriesId)
        .attr("data-label", c.label || c.response)
        .attr("d", d3.line().curve(d3.curveStepAfter).x(function (d) { return x(d[0]); }).y(function (d) { return y(d[1]); })(pts));
      (c.censored || []).forEach(function (t) {
        var s = pts.filter(function (d) { return d[0] <= t; }).pop();
        g.append("line").attr("class", "series censor s" + (i % 4))
          .attr("x1", x(t)).attr("x2", x(t)).attr("y1", y(s[1]) - 4).attr("y2", y(s[1]) + 4);
      });
      // The legend inside the frame where the curves are not: low for survival, high for
      // incidence (both start at their own end of the axis).
      var ly = opts.legendLow ? ih - 12 - (curves.length - 1 - i) * 20 : 14 + i * 20;
      var lg = g.append("g").attr("class", "legend").attr("transform", "translate(" + (iw - 250) + "," + ly + ")");
      lg.append("line").attr("class", "series s" + (i % 4)).attr("x1", 0).attr("x2", 24).attr("y1", -4).attr("y2", -4);
      lg.append("text").attr("x", 30).attr("y", 0).text((c.label || c.response) + " (n=" + c.n + ")");
    });
    if (opts.atRisk) {
      var at = opts.at, top = ih + 58;
      g.append("text").attr("x", -24).attr("y", top).attr("text-anchor", "end").attr("font-size", 11)
        .attr("font-weight", 700).text("At risk");
      curves.forEach(function (c, i) {
        var row = g.append("g").attr("data-testid", "at-risk-row").attr("data-endpoint", c.endpoint);
        row.append("text").attr("x", -24).attr("y", top + 18 * (i + 1)).attr("text-anchor", "end")
          .attr("font-size", 11).text(c.endpoint);
        at.forEach(function (t, j) {
          if (t > x.domain()[1]) return;
          row.append("text").attr("x", x(t)).attr("y", top + 18 * (i + 1)).attr("text-anchor", "middle")
            .attr("font-size", 11).text(c.at_risk[j]);
        });
      });
    }
    host.setAttribute("data-ready", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chart = document.getElementById("bcr-abl1-chart");
    var data = readJson("chart-data");
    if (chart && data) drawBcrAbl1(chart, data, document.getElementById("chart-tip"));
    var counts = document.getElementById("counts-chart");
    var cs = readJson("counts-data");
    if (counts && cs) drawCounts(counts, cs);
    var grades = document.getElementById("grades-chart");
    var gs = readJson("grades-data");
    if (grades && gs) drawGrades(grades, gs);
    var cohort = readJson("cohort-data");
    if (cohort) {
      var km = document.getElementById("km-plot");
      if (km) stepPlot(km, cohort.km, {ylabel: "surviving (Kaplan-Meier)", atRisk: true, at: cohort.at, seriesId: "km-curve", legendLow: true});
      var cif = document.getElementById("cif-plot");
      if (cif) stepPlot(cif, cohort.cif, {ylabel: "cumulative incidence", atRisk: false, at: cohort.at, seriesId: "cif-curve"});
    }
  });
})();
