using AsymCdc.Simulation;
using ScottPlot;

namespace AsymCdc.Cli.Bench;

/// <summary>latency.png of a simulation: p50, p99 and p99.9 against load, one panel per percentile, a line per mode,
/// in ms.</summary>
public static class SimulationPlot
{
    public static void Save(SimulationReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var multi = new Multiplot();
        multi.AddPlots(3);
        (string Name, Func<ScenarioResult, double> Value)[] percentiles = [("p50", r => r.P50Ms), ("p99", r => r.P99Ms), ("p99.9", r => r.P999Ms)];
        var palette = new ScottPlot.Palettes.Category10();
        var modes = report.Results.Select(r => r.Mode).Distinct().ToList();
        for (var p = 0; p < percentiles.Length; p++)
        {
            var plot = multi.GetPlot(p);
            for (var m = 0; m < modes.Count; m++)
            {
                var rows = report.Results.Where(r => r.Mode == modes[m]).OrderBy(r => r.Load).ToList();
                var line = plot.Add.Scatter(rows.Select(r => r.Load ?? 0).ToArray(), rows.Select(r => percentiles[p].Value(r)).ToArray(), palette.GetColor(m));
                line.LineWidth = 2;
                line.LegendText = p == 0 ? modes[m] : string.Empty;
            }

            plot.Title($"{report.Config.Scenario.Name}: {percentiles[p].Name}");
            plot.XLabel("load (fraction of capacity)");
            plot.YLabel("latency (ms)");
            if (p == 0)
            {
                plot.ShowLegend(Alignment.UpperRight);
            }
        }

        multi.SavePng(path, 1200, 1200);
    }
}
