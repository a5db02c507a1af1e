using System.Runtime.InteropServices;
using AsymCdc.Serving;

namespace AsymCdc.Simulation;

/// <summary>
/// Runs every mode of a <see cref="SimulationConfig"/> at each of its loads: the product's own serving policies
/// (<see cref="ServingStrategies"/>, the classes the parity-group grains run) against <see cref="SimulatedCluster"/>
/// in <see cref="VirtualTime"/>. Every mode sees the same arrival trace at a load; the same seed gives the same results.
/// </summary>
public sealed class Simulator(SimulationConfig config)
{
    /// <summary>Progress: queries completed so far of all cells, and the total.</summary>
    public Action<long, long>? OnProgress { get; init; }

    public SimulationReport Run()
    {
        var problem = config.Problem();
        if (problem is not null)
        {
            throw new ArgumentException($"simulation config '{config.Name}': {problem}");
        }

        var service = new ServiceTimes(config.Service);
        var capacity = Capacity(config, service);
        var rows = new List<ScenarioResult>();
        var total = (long)config.Queries * config.Modes.Count * config.Loads.Count;
        var done = 0L;
        foreach (var load in config.Loads)
        {
            var rate = load * capacity;
            foreach (var mode in config.Modes)
            {
                rows.Add(RunCell(mode, load, rate, service, n => OnProgress?.Invoke(done + n, total)));
                done += config.Queries;
                OnProgress?.Invoke(done, total);
            }
        }

        return new SimulationReport(new SimulationSummary(config, Math.Round(service.MedianMs, 4), Math.Round(capacity, 1)), rows);
    }

    /// <summary>
    /// The query rate that load 1.0 means: the workers' capacity (each flat out; no more than the shared cores allow)
    /// divided by the nominal work per query of the most expensive mode run (1 + its extra calls), so that at a load
    /// below 1 no mode is overloaded and all share one rate.
    /// </summary>
    public static double Capacity(SimulationConfig config, ServiceTimes service)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(service);
        // With a core time per call, a worker is exclusive for that only (it serves calls concurrently otherwise).
        var perCall = config.Service.SharedCores > 0 && config.Service.CoreMs is { } core ? core : service.MeanMs;
        var workers = config.Workers * (service.IsGpu ? service.WorkerCapacity : 1000 / perCall);
        var heaviest = config.Modes.Max(m => 1 + NominalExtraWork(m, config));
        if (config.Service.SharedCores > 0 && !service.IsGpu)
        {
            // Every query's core time: its caller's side once, its worker calls each.
            var cores = config.Service.SharedCores * 1000 / (config.Service.CallerCpuMs + (heaviest * perCall));
            return Math.Min(workers / heaviest, cores);
        }

        return workers / heaviest;
    }

    /// <summary>Extra worker calls per query a mode is built to make: a hedge for the queries past its percentile,
    /// a replica for every query, a parity per k queries.</summary>
    public static double NominalExtraWork(string mode, SimulationConfig config) => mode switch
    {
        "none" => 0,
        "hedged" => 1 - config.Policy.HedgePercentile,
        "replication" => 1,
        _ => 1.0 / config.K,
    };

    private ScenarioResult RunCell(string mode, double load, double rate, ServiceTimes service, Action<long> progress)
    {
        var time = new VirtualTime();
        var (autoK, autoCoder, autoWhy) = mode == "auto" ? config.AutoGroup() : (config.K, null, null);
        var cluster = new SimulatedCluster(time, config, service, config.Seed) { Mode = mode, AutoCoder = autoCoder ?? AsymCdc.Serving.AutoCoding.Compact };
        var policy = config.Policy;
        var deadline = TimeSpan.FromMilliseconds(policy.StragglerDeadlineMs ?? policy.StragglerDeadlineMedians * service.MedianMs);
        // One adaptive quantile per frontend silo, shared by its policies, as in the cluster.
        var quantile = policy.Deadline == "adaptive"
            ? new StragglerDeadline(time, policy.AdaptiveQuantile, TimeSpan.FromMilliseconds(policy.AdaptiveFloorMs),
                TimeSpan.FromMilliseconds(policy.AdaptiveCapMs), TimeSpan.FromSeconds(10), deadline)
            : null;
        ReconstructionTrigger Trigger() => ReconstructionTrigger.For(policy.Deadline, deadline, policy.DeadlineMedianFactor,
            policy.TriggerQuantile, policy.TriggerFactor, quantile);
        var strategies = new ServingStrategy<int, SimulatedAnswer>[policy.Shards];
        for (var s = 0; s < strategies.Length; s++)
        {
            var settings = new StrategySettings(autoK, 1, TimeSpan.FromMilliseconds(policy.GroupWindowMs), policy.HedgePercentile, deadline,
                FirstGroupId: ((long)s << 40) + 1)
            {
                EagerExactDecode = policy.EagerExact,
                RedundancyBudget = config.RedundancyBudget,
                WindowFromArrivals = policy.WindowFromArrivals,
                AutoCoder = autoCoder ?? AsymCdc.Serving.AutoCoding.Compact,
                CodingUnavailable = autoCoder is null ? autoWhy : null, // as the grain: null where only the budget rules coding out
            };
            strategies[s] = ServingStrategies.Create(mode, settings, cluster, cluster, Trigger(), Trigger());
        }

        var callerCpu = config.Service.CallerCpuMs;
        var tally = new Tally(time, config.Queries, TimeSpan.FromMilliseconds(config.Service.OverheadMs).Ticks, TimeSpan.FromMilliseconds(policy.TimeoutMs).Ticks);
        var arrivals = new Random(config.Seed);
        var burst = config.Arrivals;
        var sent = 0;
        var next = 0L;
        Action<object?>? arrive = null;
        arrive = _ =>
        {
            var query = new ServedQuery<SimulatedAnswer>([sent], tally.OnDone) { State = time.Now };
            var strategy = strategies[sent % strategies.Length];
            if (callerCpu > 0)
            {
                cluster.OnCores(callerCpu, () => strategy.Submit(query));
            }
            else
            {
                strategy.Submit(query);
            }

            if (++sent < config.Queries)
            {
                var now = TimeSpan.FromTicks(time.Now).TotalSeconds;
                var r = burst.BurstPeriodSeconds > 0 && now % burst.BurstPeriodSeconds < burst.BurstSeconds ? rate * burst.BurstFactor : rate;
                next = time.Now + (long)(-Math.Log(1 - arrivals.NextDouble()) / r * TimeSpan.TicksPerSecond);
                time.At(next, arrive!, null);
            }

            if ((sent & 0x3FFF) == 0)
            {
                progress(sent);
            }
        };
        time.At(0, arrive, null);
        if (config.Faults.Deaths > 0)
        {
            var at = (long)(config.Queries / rate * config.Faults.DeathAtFraction * TimeSpan.TicksPerSecond);
            time.At(at, _ =>
            {
                // Spread over the fleet (independent nodes), not a block of neighbours in the pickers' order.
                for (var d = 0; d < config.Faults.Deaths; d++)
                {
                    cluster.Kill((int)((long)d * config.Workers / config.Faults.Deaths), TimeSpan.FromSeconds(config.Faults.ReplaceSeconds));
                }
            }, null);
        }

        while (time.Step())
        {
        }

        return tally.Result(config, mode, load, rate, cluster);
    }

    /// <summary>Latencies and outcomes of one cell.</summary>
    private sealed class Tally(VirtualTime time, int queries, long overhead, long timeout)
    {
        private readonly float[] _latencies = new float[queries];
        private int _answered;
        private int _errors;
        private int _done;
        private int _reconstructed;
        private long _first = long.MaxValue;
        private long _last;

        public void OnDone(ServedQuery<SimulatedAnswer> query)
        {
            _done++;
            var arrived = (long)query.State!; // before the caller's side (query.Started is when its policy took it)
            var elapsed = time.Now - arrived + overhead;
            _first = Math.Min(_first, arrived);
            if (query.Failure is not null || elapsed > timeout)
            {
                _errors++;
                return;
            }

            _last = Math.Max(_last, time.Now);
            _latencies[_answered++] = (float)(elapsed / (double)TimeSpan.TicksPerMillisecond);
            _reconstructed += query.Path == AnswerPath.Reconstructed ? 1 : 0;
        }

        public ScenarioResult Result(SimulationConfig config, string mode, double load, double rate, SimulatedCluster cluster)
        {
            var answered = _latencies.AsSpan(0, _answered);
            answered.Sort();
            var seconds = (_last - _first) / (double)TimeSpan.TicksPerSecond;
            var decodes = CollectionsMarshal.AsSpan(cluster.DecodeMs);
            decodes.Sort();
            return new ScenarioResult(
                config.Name, config.Faults.StragglerRate, mode, config.K, config.Workers, queries, _answered, _errors,
                queries - _done, _reconstructed,
                Round(Percentile(answered, 0.50)), Round(Percentile(answered, 0.99)), Round(Percentile(answered, 0.999)),
                Round(seconds > 0 ? _answered / seconds : 0), Accuracy: null,
                Math.Round(((double)cluster.WorkerCalls / queries) - 1, 3))
            {
                Load = Math.Round(load, 3),
                RateQps = Math.Round(rate, 1),
                CostMs = Math.Round(cluster.BusyTicks / (double)TimeSpan.TicksPerSecond / queries * 1000, 4),
                DecodeP50Ms = decodes.Length == 0 ? null : Round(Percentile(decodes, 0.50)),
                DecodeP99Ms = decodes.Length == 0 ? null : Round(Percentile(decodes, 0.99)),
            };
        }

        private static double Percentile(Span<float> sorted, double q) =>
            sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

        private static double Round(double v) => Math.Round(v, 3, MidpointRounding.AwayFromZero);
    }
}
