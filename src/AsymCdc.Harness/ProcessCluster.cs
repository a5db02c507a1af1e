using AsymCdc.Hosting;
using System.Diagnostics;
using AsymCdc.Grains;
using AsymCdc.Inference;

namespace AsymCdc.Cli.Cluster;

/// <summary>
/// A real multi-process AsymCDC cluster on this machine: a <c>redis-server</c> for membership, F frontend and N worker
/// <c>asymcdc-silo</c> processes with Redis clustering on distinct free loopback ports. Pids, ports and logs live in a
/// run folder (<see cref="ClusterState"/>), so a later <c>cluster down</c> can stop what an earlier <c>up</c> started.
/// </summary>
public sealed partial class ProcessCluster : IAsyncDisposable
{
    public const string SiloCommand = SiloLocator.FileName;

    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Dictionary<string, Process> _children = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _cpuLimitFailures = new();
    private readonly Dictionary<string, string?> _environment;
    private readonly TimeSpan _drainTimeout;
    private readonly TimeSpan _readyTimeout;

    private ProcessCluster(string runDirectory, ClusterState state, Dictionary<string, string?> environment, TimeSpan drainTimeout, TimeSpan readyTimeout)
    {
        RunDirectory = runDirectory;
        State = state;
        _environment = environment;
        _drainTimeout = drainTimeout;
        _readyTimeout = readyTimeout;
    }

    public string RunDirectory { get; }

    public ClusterState State { get; private set; }

    public string RedisConnectionString => State.Redis?.ConnectionString
        ?? throw new InvalidOperationException("this cluster has no Redis");

    public SiloProcessInfo Silo(string name) => State.Silos.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"no silo '{name}' in this cluster (it has: {string.Join(", ", State.Silos.Select(s => s.Name))})", nameof(name));

    public IEnumerable<SiloProcessInfo> SilosWithRole(string role) => State.Silos.Where(s => s.Role == role);

    /// <summary>Starts Redis and every silo, then waits until each answers <c>/health/ready</c>. On any failure it stops
    /// what it started and throws an error that points at the log of the silo that did not come up.</summary>
    public static async Task<ProcessCluster> StartAsync(ProcessClusterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.LimitsRunnerThreads && CpuQuota.ThreadLimitUnavailableReason() is { } unavailable)
        {
            // Refused before any silo starts: the limit applies only after a worker is ready, too late to say so.
            throw new InvalidOperationException($"cannot limit the workers' runner threads: {unavailable}; limit the whole worker process instead (--worker-cpu-scope process)");
        }

        var runDirectory = Path.GetFullPath(options.RunDirectory);
        if (Attach(runDirectory) is { } existing && existing.RunningPids().Count > 0)
        {
            throw new InvalidOperationException(
                $"a cluster started from '{runDirectory}' is still running (pids {string.Join(", ", existing.RunningPids())}); run 'asymcdc cluster down --run-dir {options.RunDirectory}' first");
        }

        // A fresh cluster: the logs and Redis's append-only file of an earlier one (stale membership rows) go.
        if (Directory.Exists(Path.Combine(runDirectory, "redis")))
        {
            Directory.Delete(Path.Combine(runDirectory, "redis"), recursive: true);
        }

        Directory.CreateDirectory(runDirectory);
        foreach (var log in Directory.EnumerateFiles(runDirectory, "*.log"))
        {
            File.Delete(log);
        }

        var siloDll = SiloLocator.Find(options.SiloDll);
        var models = Path.GetFullPath(options.ModelRepository ?? ModelRepositoryLocator.Find());
        var ports = FreePorts.Take(1 + (3 * (options.Frontends + options.Workers)));
        var environment = SiloEnvironment(options, models, Environment.GetEnvironmentVariables().Keys.Cast<string>());
        // The silo environment is recorded so that a later `cluster scale` starts silos exactly like these.
        var state = new ClusterState(options.ServiceId, options.ClusterId, siloDll, models, DateTime.UtcNow, null, [],
            environment, options.DrainTimeout.TotalSeconds, options.WorkerCpu, options.WorkerCpuScope);
        var cluster = new ProcessCluster(runDirectory, state, environment, options.DrainTimeout, options.ReadyTimeout);
        try
        {
            var redis = await RedisServer.StartAsync(Path.Combine(runDirectory, "redis"), ports[0], cancellationToken);
            cluster.Update(cluster.State with { Redis = redis });
            var next = 1;
            var silos = new List<SiloProcessInfo>();
            for (var i = 0; i < options.Frontends + options.Workers; i++)
            {
                var frontend = i < options.Frontends;
                var name = frontend ? $"frontend-{i}" : $"worker-{i - options.Frontends}";
                var role = frontend ? SiloRoles.Frontend : SiloRoles.GpuWorker;
                var silo = new SiloProcessInfo(name, role, 0, ports[next], ports[next + 1], ports[next + 2], Path.Combine(runDirectory, $"{name}.log"));
                next += 3;
                silos.Add(cluster.Launch(silo));
                cluster.Update(cluster.State with { Silos = [.. silos] });
            }

            await Task.WhenAll(cluster.State.Silos.Select(s => cluster.WaitReadyAsync(s, false, cancellationToken)));
            foreach (var silo in cluster.State.Silos)
            {
                cluster.LimitCpu(silo);
            }

            return cluster;
        }
        catch
        {
            await cluster.DownAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>The cluster an earlier <c>up</c> recorded in <paramref name="runDirectory"/>, or null.</summary>
    public static ProcessCluster? Attach(string runDirectory)
    {
        var full = Path.GetFullPath(runDirectory);
        return ClusterState.TryLoad(full) is { } state
            ? new ProcessCluster(full, state, new Dictionary<string, string?>(state.Environment ?? new Dictionary<string, string?>()),
                state.DrainTimeoutSeconds is { } drain ? TimeSpan.FromSeconds(drain) : TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(3))
            : null;
    }

    /// <summary>Pids of this cluster's processes that are still running.</summary>
    public IReadOnlyList<int> RunningPids()
    {
        var pids = new List<int>();
        if (State.Redis is { } redis && Processes.IsRunning(redis.Pid, RedisServer.Program))
        {
            pids.Add(redis.Pid);
        }

        pids.AddRange(State.Silos.Where(s => Processes.IsRunning(s.Pid, SiloCommand)).Select(s => s.Pid));
        return pids;
    }

    /// <summary>SIGKILLs a silo (a crashed node: no drain, no goodbye to membership) and waits until it is gone.</summary>
    /// <param name="teardownNice">Niceness the silo's threads get just before the signal (0: unchanged). The kernel frees
    /// a killed process's memory and mappings in that process's own threads, some 15 ms of CPU per silo here; on
    /// Kubernetes that runs on the dead pod's own CPU, on one machine it would take the cores of the silos that react.</param>
    public async Task KillAsync(string name, int teardownNice = 0)
    {
        var silo = Silo(name);
        if (teardownNice != 0)
        {
            Processes.SetNice(silo.Pid, teardownNice);
        }

        Processes.Signal(silo.Pid, SiloCommand, Processes.SigKill);
        if (!await Processes.WaitForExitAsync(silo.Pid, SiloCommand, TimeSpan.FromSeconds(10)))
        {
            throw new InvalidOperationException($"silo {name} (pid {silo.Pid}) still runs 10 s after SIGKILL");
        }
    }

    /// <summary>SIGSTOPs a silo: a frozen node (a long GC pause, a paused VM) whose connections stay open and whose calls
    /// are never answered until <see cref="Thaw"/>. Throws if the silo is not running.</summary>
    public void Freeze(string name)
    {
        var silo = Silo(name);
        if (!Processes.Signal(silo.Pid, SiloCommand, Processes.SigStop))
        {
            throw new InvalidOperationException($"silo {name} (pid {silo.Pid}) is not running; nothing to freeze");
        }
    }

    /// <summary>SIGCONTs a silo frozen by <see cref="Freeze"/>; false when it is gone.</summary>
    public bool Thaw(string name) => Processes.Signal(Silo(name).Pid, SiloCommand, Processes.SigCont);

    /// <summary>Starts a fresh process for a silo that is gone, on the same ports (as Kubernetes restarts a crashed
    /// container), and waits until it is ready. The log is appended to.</summary>
    /// <param name="startupNice">Niceness of the new process until it answers HTTP (it is then joining the cluster), then 0. On Kubernetes a restarted
    /// container's start-up (JIT, model loading) runs on its own CPU request; on one machine shared by every silo it
    /// would take those cores from the silos serving the load, which a positive value prevents.</param>
    public async Task RestartAsync(string name, int startupNice = 0, CancellationToken cancellationToken = default)
    {
        var silo = Silo(name);
        if (Processes.IsRunning(silo.Pid, SiloCommand))
        {
            throw new InvalidOperationException($"silo {name} (pid {silo.Pid}) is still running; kill it first");
        }

        var restarted = Launch(silo, startupNice);
        Update(State with { Silos = [.. State.Silos.Select(s => s.Name == name ? restarted : s)] });
        await WaitReadyAsync(restarted, startupNice != 0, cancellationToken);
        LimitCpu(restarted);
    }

    /// <summary>
    /// Starts one more silo of <paramref name="role"/> (the next free name, fresh ports, the environment every silo of this
    /// cluster got) and waits until it is ready: models warm, a member of the cluster, and for a frontend its warm-up
    /// queries served, so it joins warm. Kubernetes' scale-out of a Deployment.
    /// </summary>
    public async Task<SiloProcessInfo> AddSiloAsync(string role, int startupNice = 0, CancellationToken cancellationToken = default)
    {
        var prefix = role == SiloRoles.Frontend ? "frontend" : role == SiloRoles.GpuWorker ? "worker"
            : throw new ArgumentException($"role '{role}' is neither {SiloRoles.Frontend} nor {SiloRoles.GpuWorker}", nameof(role));
        var next = State.Silos.Where(s => s.Role == role).Select(s => s.Index).DefaultIfEmpty(-1).Max() + 1;
        var ports = FreePorts.Take(3);
        var silo = Launch(new SiloProcessInfo($"{prefix}-{next}", role, 0, ports[0], ports[1], ports[2], Path.Combine(RunDirectory, $"{prefix}-{next}.log")), startupNice);
        Update(State with { Silos = [.. State.Silos, silo] });
        await WaitReadyAsync(silo, startupNice != 0, cancellationToken);
        LimitCpu(silo);
        return silo;
    }

    /// <summary>
    /// Takes a silo out the way Kubernetes scales a pod in: SIGTERM, after which the silo leaves membership, serves until
    /// its callers have moved away and its calls in flight are answered, and exits (<c>GracefulLeave</c>). A silo still
    /// running after the drain timeout plus the host's shutdown margin is SIGKILLed. Returns whether it exited on
    /// SIGTERM; either way it is no longer part of this cluster's state.
    /// </summary>
    public async Task<bool> RemoveSiloAsync(string name, CancellationToken cancellationToken = default)
    {
        var silo = Silo(name);
        var killed = await Processes.StopAsync(silo.Pid, SiloCommand, _drainTimeout + TimeSpan.FromSeconds(15), cancellationToken);
        // Silos leave together, each continuing here on its own thread.
        lock (_children)
        {
            if (_children.Remove(name, out var child))
            {
                child.Dispose();
            }

            Update(State with { Silos = [.. State.Silos.Where(s => s.Name != name)] });
        }

        CpuQuota.Remove(CgroupName(name));

        return !killed;
    }

    /// <summary>
    /// Brings the cluster to <paramref name="workers"/> worker and <paramref name="frontends"/> frontend silos (null: as
    /// it is): new silos start together and join warm; when there are too many, the highest-numbered leave together
    /// (<see cref="RemoveSiloAsync"/>). Returns what was added and removed, and which removed silos needed SIGKILL.
    /// </summary>
    public async Task<ScaleChange> ScaleAsync(int? workers, int? frontends, int startupNice = 0, CancellationToken cancellationToken = default)
    {
        if (workers is < 1 || frontends is < 1)
        {
            throw new ArgumentException($"a cluster needs at least one worker and one frontend silo (asked for {workers} and {frontends})");
        }

        var added = new List<string>();
        var removed = new List<string>();
        var killed = new List<string>();
        foreach (var (role, target) in new[] { (SiloRoles.GpuWorker, workers), (SiloRoles.Frontend, frontends) })
        {
            if (target is not { } wanted)
            {
                continue;
            }

            var current = State.WithRole(role);
            if (wanted > current.Count)
            {
                // One at a time: each launch records itself in the state file, which is rewritten whole.
                var launching = new List<Task<SiloProcessInfo>>();
                for (var i = current.Count; i < wanted; i++)
                {
                    launching.Add(AddSiloAsync(role, startupNice, cancellationToken));
                }

                added.AddRange((await Task.WhenAll(launching)).Select(s => s.Name));
            }
            else if (wanted < current.Count)
            {
                var leaving = current.Skip(wanted).Select(s => s.Name).ToList();
                var results = await Task.WhenAll(leaving.Select(async n => (Name: n, Clean: await RemoveSiloAsync(n, cancellationToken))));
                removed.AddRange(leaving);
                killed.AddRange(results.Where(r => !r.Clean).Select(r => r.Name));
            }
        }

        return new ScaleChange(added, removed, killed);
    }

    /// <summary>Stops Redis (SIGTERM; it flushes its append-only file) while the silos keep running.</summary>
    public async Task StopRedisAsync()
    {
        var redis = State.Redis ?? throw new InvalidOperationException("this cluster has no Redis");
        await Processes.StopAsync(redis.Pid, RedisServer.Program, TimeSpan.FromSeconds(10));
    }

    /// <summary>Starts Redis again on the same port and folder: it reloads the membership table from its file.</summary>
    public async Task StartRedisAsync(CancellationToken cancellationToken = default)
    {
        var redis = State.Redis ?? throw new InvalidOperationException("this cluster has no Redis");
        if (Processes.IsRunning(redis.Pid, RedisServer.Program))
        {
            throw new InvalidOperationException($"Redis (pid {redis.Pid}) is still running");
        }

        var restarted = await RedisServer.StartAsync(Path.GetDirectoryName(redis.Log)!, redis.Port, cancellationToken);
        Update(State with { Redis = restarted });
    }

    /// <summary>
    /// Stops every silo (SIGTERM, so frontends drain; SIGKILL for any still running after the drain timeout plus the
    /// host's shutdown margin), then Redis, then checks that none of the recorded pids runs any more and removes the
    /// state file. Returns the names of processes that needed SIGKILL.
    /// </summary>
    public async Task<IReadOnlyList<string>> DownAsync(CancellationToken cancellationToken = default)
    {
        var grace = _drainTimeout + TimeSpan.FromSeconds(15);
        var killed = new List<string>();
        var stops = State.Silos.Select(async s =>
        {
            if (await Processes.StopAsync(s.Pid, SiloCommand, grace, cancellationToken))
            {
                lock (killed)
                {
                    killed.Add(s.Name);
                }
            }
        });
        await Task.WhenAll(stops);
        if (State.Redis is { } redis && await Processes.StopAsync(redis.Pid, RedisServer.Program, TimeSpan.FromSeconds(10), cancellationToken))
        {
            killed.Add("redis");
        }

        if (RunningPids() is { Count: > 0 } left)
        {
            throw new InvalidOperationException($"processes {string.Join(", ", left)} of the cluster in '{RunDirectory}' are still running");
        }

        foreach (var child in _children.Values)
        {
            child.Dispose();
        }

        foreach (var silo in State.Silos.Where(s => s.Role == SiloRoles.GpuWorker && State.WorkerCpu is not null))
        {
            CpuQuota.Remove(CgroupName(silo.Name));
        }

        _children.Clear();
        File.Delete(ClusterState.PathIn(RunDirectory));
        return killed;
    }

    /// <summary>Whether each silo runs and answers <c>/health/ready</c>.</summary>
    public async Task<IReadOnlyList<(SiloProcessInfo Silo, bool Running, bool Ready)>> StatusAsync(CancellationToken cancellationToken = default)
    {
        var lines = new List<(SiloProcessInfo, bool, bool)>();
        foreach (var silo in State.Silos)
        {
            var running = Processes.IsRunning(silo.Pid, SiloCommand);
            lines.Add((silo, running, running && await IsReadyAsync(silo, cancellationToken)));
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(ClusterState.PathIn(RunDirectory)))
        {
            await DownAsync(CancellationToken.None);
        }
    }

    private SiloProcessInfo Launch(SiloProcessInfo silo, int nice = 0)
    {
        var environment = new Dictionary<string, string?>(_environment)
        {
            ["AsymCdc__Silo__Roles"] = silo.Role,
            ["AsymCdc__Silo__Clustering"] = "redis",
            ["AsymCdc__Silo__RedisConnectionString"] = RedisConnectionString,
            ["AsymCdc__Silo__ServiceId"] = State.ServiceId,
            ["AsymCdc__Silo__ClusterId"] = State.ClusterId,
            ["AsymCdc__Silo__SiloPort"] = $"{silo.SiloPort}",
            ["AsymCdc__Silo__GatewayPort"] = $"{silo.GatewayPort}",
            ["AsymCdc__Silo__HttpPort"] = $"{silo.HttpPort}",
            // Every frontend of this cluster runs on this machine, so each needs a KServe gRPC port of its own (the
            // default 8081 would clash); workers serve no gRPC.
            ["AsymCdc__Silo__GrpcPort"] = silo.Role == SiloRoles.Frontend ? $"{FreePorts.Take(1)[0]}" : "0",
            // Loopback: every silo is on this machine, and an address Orleans picks may be a container bridge's that
            // comes and goes.
            ["AsymCdc__Silo__AdvertisedAddress"] = "127.0.0.1",
        };
        File.AppendAllText(silo.Log, $"--- asymcdc cluster: starting {silo.Name} ({silo.Role}) at {DateTime.UtcNow:O}{Environment.NewLine}");
        // The silo's folder is its content root: that is where its appsettings.json is.
        var process = ChildProcess.Start("dotnet", [State.SiloDll], silo.Log, Path.GetDirectoryName(State.SiloDll)!, environment, nice);

        if (_children.Remove(silo.Name, out var previous))
        {
            previous.Dispose();
        }

        _children[silo.Name] = process;
        return silo with { Pid = process.Id };
    }

    /// <summary>
    /// A worker's CPU limit (<see cref="ProcessClusterOptions.WorkerCpu"/>), from a while after it is ready: a node's
    /// start-up (JIT, model loading) has the node's whole CPU, and on one machine shared by every silo a start-up
    /// squeezed into a fraction of a core would take many times longer than it does on a node.
    /// </summary>
    private void LimitCpu(SiloProcessInfo silo)
    {
        if (silo.Role == SiloRoles.GpuWorker && State.WorkerCpu is { } cores)
        {
            _ = LimitCpuLaterAsync(silo, cores);
        }
    }

    /// <summary>The limit stands for the worker's accelerator, not its host CPU: it applies
    /// <see cref="ProcessClusterOptions.WorkerCpuLimitDelay"/> after ready, once the JIT has recompiled the paths the
    /// first calls took, work that a GPU node does on host cores its inference leaves idle.</summary>
    private async Task LimitCpuLaterAsync(SiloProcessInfo silo, double cores)
    {
        await Task.Delay(ProcessClusterOptions.WorkerCpuLimitDelay);
        try
        {
            if (Processes.IsRunning(silo.Pid, SiloCommand))
            {
                if (State.WorkerCpuScope == WorkerCpuScope.Runners)
                {
                    CpuQuota.ApplyToThreads(silo.Pid, CgroupName(silo.Name), cores, InferenceOptions.RunnerThreadName);
                }
                else
                {
                    CpuQuota.Apply(silo.Pid, CgroupName(silo.Name), cores);
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException)
        {
            _cpuLimitFailures.Enqueue($"{silo.Name}: {e.Message}");
        }
    }

    /// <summary>Worker CPU limits that could not be applied (each names the silo and why); a drill that relies on them
    /// fails on any.</summary>
    public IReadOnlyCollection<string> CpuLimitFailures => _cpuLimitFailures;

    /// <summary>The CFS throttling counters of a worker's CPU limit so far; null without one (none set, not applied yet,
    /// or the silo has left).</summary>
    public CfsThrottling? CpuThrottling(string silo) => State.WorkerCpu is null ? null : CpuQuota.ReadThrottling(CgroupName(silo));

    /// <summary>The cgroup of a silo with a CPU limit: unique per run folder, so two clusters do not share one.</summary>
    private string CgroupName(string silo) =>
        $"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(RunDirectory)))[..8]}-{silo}";

    /// <summary>Waits until the silo answers <c>/health/ready</c>. With <paramref name="unNiceWhenLive"/>, a silo started at a
    /// positive niceness gets niceness 0 as soon as it answers HTTP at all (<c>/health/live</c>): by then it is joining or
    /// a member, and a member that takes calls must not be starved of CPU, which a node of its own would not be.</summary>
    private async Task WaitReadyAsync(SiloProcessInfo silo, bool unNiceWhenLive, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!await IsReadyAsync(silo, cancellationToken))
        {
            if (unNiceWhenLive && await AnswersAsync(silo.LiveUri, cancellationToken))
            {
                Processes.SetNice(silo.Pid, 0);
                unNiceWhenLive = false;
            }

            if (!Processes.IsRunning(silo.Pid, SiloCommand))
            {
                var code = _children.TryGetValue(silo.Name, out var child) && child.HasExited ? $" with code {child.ExitCode}" : "";
                throw new ClusterStartException(silo,
                    $"silo {silo.Name} ({silo.Role}, pid {silo.Pid}) exited{code} before it was ready; see its log {silo.Log}:{Environment.NewLine}{ChildProcess.Tail(silo.Log)}");
            }

            if (Stopwatch.GetElapsedTime(started) > _readyTimeout)
            {
                throw new ClusterStartException(silo,
                    $"silo {silo.Name} ({silo.Role}, pid {silo.Pid}) did not answer {silo.ReadyUri} within {_readyTimeout.TotalSeconds:0} s; see its log {silo.Log}:{Environment.NewLine}{ChildProcess.Tail(silo.Log)}");
            }

            await poll.WaitForNextTickAsync(cancellationToken);
        }
    }

    private static Task<bool> IsReadyAsync(SiloProcessInfo silo, CancellationToken cancellationToken) =>
        AnswersAsync(silo.ReadyUri, cancellationToken);

    private static async Task<bool> AnswersAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await s_http.GetAsync(uri, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void Update(ClusterState state)
    {
        State = state;
        state.Save(RunDirectory);
    }

    /// <summary>
    /// What every silo process gets on top of this process's own environment: the runtime settings the image and the
    /// chart set (<see cref="SiloRuntimeEnvironment"/>, nothing drill-only), the model repository, the drain timeout,
    /// single-line timestamped logs and the caller's <see cref="ProcessClusterOptions.Settings"/>. A runtime setting
    /// of this process's own environment (<paramref name="inherited"/>) that is not on that list is removed (null).
    /// </summary>
    public static Dictionary<string, string?> SiloEnvironment(ProcessClusterOptions options, string models, IEnumerable<string> inherited)
    {
        ArgumentNullException.ThrowIfNull(options);
        var environment = inherited.Where(SiloRuntimeEnvironment.IsRuntimeSetting).ToDictionary(name => name, _ => (string?)null);
        foreach (var (key, value) in new Dictionary<string, string?>
        {
            ["AsymCdc__Inference__ModelRepository"] = models,
            ["AsymCdc__Silo__DrainTimeout"] = options.DrainTimeout.ToString(),
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true",
        })
        {
            environment[key] = value;
        }

        foreach (var (key, value) in SiloRuntimeEnvironment.Variables)
        {
            environment[key] = value;
        }

        if (options.LimitsRunnerThreads)
        {
            // A limit on the runner threads finds them only where each runner is a thread of its own.
            environment["AsymCdc__Inference__DedicatedThreads"] = "true";
        }

        foreach (var (key, value) in options.Settings)
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return environment;
    }
}

/// <summary>What <see cref="ProcessCluster.ScaleAsync"/> changed: silos started, silos that left, and those of them that
/// needed SIGKILL after the drain timeout.</summary>
public sealed record ScaleChange(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Killed);

/// <summary>A silo of a <see cref="ProcessCluster"/> did not come up; the message points at its log.</summary>
public sealed class ClusterStartException(SiloProcessInfo silo, string message) : Exception(message)
{
    public SiloProcessInfo Silo { get; } = silo;
}
