using System.Globalization;

namespace AsymCdc.Cli.Cluster;

/// <summary>
/// What a worker silo's <c>/metrics</c> (Prometheus text) says about its model calls: the count and the summed queue
/// delay of the <c>asymcdc_worker_queue_delay_seconds</c> histogram, over every model it runs. The autoscaling signal is
/// read from these two series, as the Prometheus Adapter rule of the chart does (deploy/prometheus-adapter).
/// </summary>
public readonly record struct WorkerMetrics(double Calls, double QueueDelaySeconds)
{
    public const string QueueDelaySeries = "asymcdc_worker_queue_delay_seconds";

    public static WorkerMetrics operator -(WorkerMetrics after, WorkerMetrics before) =>
        new(after.Calls - before.Calls, after.QueueDelaySeconds - before.QueueDelaySeconds);

    /// <summary>Mean queue delay of the calls counted (the adapter's rate(_sum) ÷ rate(_count)); 0 without calls.</summary>
    public double MeanQueueDelaySeconds => Calls > 0 ? QueueDelaySeconds / Calls : 0;

    /// <summary>Sums the histogram's <c>_count</c> and <c>_sum</c> lines of every label set.</summary>
    public static WorkerMetrics Parse(string prometheusText)
    {
        ArgumentNullException.ThrowIfNull(prometheusText);
        double calls = 0, sum = 0;
        foreach (var line in prometheusText.Split('\n'))
        {
            if (line.StartsWith(QueueDelaySeries + "_count", StringComparison.Ordinal))
            {
                calls += Value(line);
            }
            else if (line.StartsWith(QueueDelaySeries + "_sum", StringComparison.Ordinal))
            {
                sum += Value(line);
            }
        }

        return new WorkerMetrics(calls, sum);
    }

    /// <summary>The sample value: the first field after the series name and its labels (a timestamp may follow).</summary>
    private static double Value(string line)
    {
        var afterLabels = line.LastIndexOf('}') is var brace and >= 0 ? brace + 1 : line.IndexOf(' ', StringComparison.Ordinal);
        var fields = line[afterLabels..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return double.Parse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
