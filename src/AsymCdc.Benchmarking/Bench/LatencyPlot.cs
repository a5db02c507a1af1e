using AsymCdc.Simulation;
using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace AsymCdc.Cli.Bench;

/// <summary>
/// <c>latency.png</c>: p50, p99 and p99.9 of every mode, grouped by scenario, on a log latency axis (a tail 20x the
/// median would flatten everything else on a linear one).
/// </summary>
public static class LatencyPlot
{
    private static readonly (string Name, Func<ScenarioResult, double> Value)[] s_percentiles =
    [
        ("p50", r => r.P50Ms),
        ("p99", r => r.P99Ms),
        ("p99.9", r => r.P999Ms),
    ];

    public static void Save(BenchReport report, string path, int width = 1400, int height = 700)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = new Plot();
        var scenarios = report.Results.Select(r => r.Scenario).Distinct().ToList();
        var modes = report.Results.Select(r => r.Mode).Distinct().ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var ticks = new List<Tick>();
        for (var s = 0; s < scenarios.Count; s++)
        {
            // Each scenario is a block of three x positions (its percentiles) with a gap before the next block.
            var x0 = s * (s_percentiles.Length + 1);
            for (var p = 0; p < s_percentiles.Length; p++)
            {
                ticks.Add(new Tick(x0 + p, $"{s_percentiles[p].Name}\n{scenarios[s]}", isMajor: true));
            }

            for (var m = 0; m < modes.Count; m++)
            {
                var row = report.Results.FirstOrDefault(r => r.Scenario == scenarios[s] && r.Mode == modes[m]);
                if (row is null)
                {
                    continue;
                }

                double[] xs = [.. Enumerable.Range(x0, s_percentiles.Length).Select(x => (double)x)];
                double[] ys = [.. s_percentiles.Select(p => Math.Log10(Math.Max(p.Value(row), 0.01)))];
                var line = plot.Add.Scatter(xs, ys, palette.GetColor(m));
                line.LineWidth = 2;
                line.MarkerSize = 7;
                // One legend entry per mode, not one per scenario block.
                line.LegendText = s == 0 ? modes[m] : string.Empty;
            }
        }

        plot.Axes.Bottom.TickGenerator = new NumericManual([.. ticks]);
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("0.##", CultureInfo.InvariantCulture),
        };
        plot.Axes.Left.Label.Text = "latency (ms, log scale)";
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"asymcdc bench: client latency per mode and straggler scenario (k = {report.Config.K}, {report.Config.Queries} queries each, {report.Config.RateQps:0.#} q/s)"));
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.12);
        plot.SavePng(path, width, height);
    }
}
