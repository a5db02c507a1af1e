using System.Globalization;

namespace AsymCdc.Cli.Cluster;

/// <summary>
/// A CPU limit for one process, as Kubernetes enforces a container's <c>resources.limits.cpu</c>: a cgroup whose CFS quota
/// is <c>cores</c> × the period. The period is as short as the kernel allows for that quota (a quota is at least 1 ms),
/// at least 2 ms and at most the kernel's default 100 ms: a throttled process waits at most one period, so the shorter,
/// the less latency the limit adds of its own (0.1 cores: 10 ms). cgroup v2 (<c>cpu.max</c>) where the unified hierarchy
/// has the cpu controller, else cgroup v1 (<c>cpu.cfs_quota_us</c>).
/// </summary>
public static class CpuQuota
{
    private const int MinPeriodMicroseconds = 2_000;
    private const int MinQuotaMicroseconds = 1_000;
    private const int MaxPeriodMicroseconds = 100_000;
    private const string V1Root = "/sys/fs/cgroup/cpu";
    private const string V2Root = "/sys/fs/cgroup";

    /// <summary>Puts <paramref name="pid"/> (every thread of it) into the cgroup <c>asymcdc/{name}</c> limited to
    /// <paramref name="cores"/>; throws naming what is missing when the machine has no writable cpu controller.</summary>
    public static void Apply(int pid, string name, double cores) =>
        Limit(name, cores, pid, threads: null);

    /// <summary>Puts only the threads of <paramref name="pid"/> named <paramref name="threadName"/> into the cgroup
    /// <c>asymcdc/{name}</c> limited to <paramref name="cores"/> together (cgroup v1 <c>tasks</c>); the process's other
    /// threads keep the machine. Returns how many threads it limited; throws when there are none or the machine has no
    /// writable cgroup v1 cpu controller (cgroup v2 limits threads only in a threaded subtree, which this does not set up).
    /// Threads the process starts later are not limited.</summary>
    public static int ApplyToThreads(int pid, string name, double cores, string threadName)
    {
        var threads = Processes.ThreadsNamed(pid, threadName);
        if (threads.Count == 0)
        {
            throw new InvalidOperationException($"cannot limit the '{threadName}' threads of pid {pid} to {cores} cores: it has none (is it a silo with models loaded?)");
        }

        Limit(name, cores, pid, threads);
        return threads.Count;
    }

    private static void Limit(string name, double cores, int pid, IReadOnlyList<int>? threads)
    {
        var (periodUs, quotaUs) = PeriodAndQuota(cores);
        var quota = quotaUs.ToString(CultureInfo.InvariantCulture);
        var period = periodUs.ToString(CultureInfo.InvariantCulture);
        var what = threads is null ? $"pid {pid}" : $"{threads.Count} thread(s) of pid {pid}";
        try
        {
            if (UnifiedHierarchyHasCpu())
            {
                if (threads is not null)
                {
                    throw new PlatformNotSupportedException(CgroupV2ThreadsRefusal + "; limit the whole process instead");
                }

                var parent = Path.Combine(V2Root, "asymcdc");
                Directory.CreateDirectory(parent);
                File.WriteAllText(Path.Combine(V2Root, "cgroup.subtree_control"), "+cpu");
                File.WriteAllText(Path.Combine(parent, "cgroup.subtree_control"), "+cpu");
                var group = Path.Combine(parent, name);
                Directory.CreateDirectory(group);
                File.WriteAllText(Path.Combine(group, "cpu.max"), $"{quota} {period}");
                File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
            }
            else if (Directory.Exists(V1Root))
            {
                var group = Path.Combine(V1Root, "asymcdc", name);
                Directory.CreateDirectory(group);
                File.WriteAllText(Path.Combine(group, "cpu.cfs_period_us"), period);
                File.WriteAllText(Path.Combine(group, "cpu.cfs_quota_us"), quota);
                if (threads is null)
                {
                    File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
                }
                else
                {
                    foreach (var thread in threads)
                    {
                        // One id per write: the kernel moves one task per write to `tasks`.
                        File.WriteAllText(Path.Combine(group, "tasks"), thread.ToString(CultureInfo.InvariantCulture));
                    }
                }
            }
            else
            {
                throw new PlatformNotSupportedException("no cgroup cpu controller at /sys/fs/cgroup/cpu (v1) or in /sys/fs/cgroup (v2)");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot limit {what} to {cores} cores with a cgroup ({e.Message}); run as root on a machine with a writable cgroup cpu controller, or without a worker CPU limit", e);
        }
    }

    /// <summary>Why <see cref="ApplyToThreads"/> cannot work on this machine, checked before anything is started; null
    /// when it can (a cgroup v1 cpu controller in which this process may create groups).</summary>
    public static string? ThreadLimitUnavailableReason()
    {
        if (UnifiedHierarchyHasCpu())
        {
            return CgroupV2ThreadsRefusal;
        }

        if (!Directory.Exists(V1Root))
        {
            return $"no cgroup v1 cpu controller at {V1Root}";
        }

        try
        {
            Directory.CreateDirectory(Path.Combine(V1Root, "asymcdc"));
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot create a cgroup under {V1Root} ({e.Message}); run as root";
        }
    }

    private const string CgroupV2ThreadsRefusal =
        "this machine has cgroup v2, where a limit on some threads of a process needs a threaded subtree, which this does not set up";

    private static bool UnifiedHierarchyHasCpu() =>
        File.Exists(Path.Combine(V2Root, "cgroup.controllers"))
        && File.ReadAllText(Path.Combine(V2Root, "cgroup.controllers")).Split(' ', '\n').Contains("cpu");

    /// <summary>The CFS period and quota, in microseconds, that limit a process to <paramref name="cores"/>.</summary>
    public static (int PeriodMicroseconds, long QuotaMicroseconds) PeriodAndQuota(double cores)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cores);
        var period = (int)Math.Clamp(Math.Ceiling(MinQuotaMicroseconds / cores), MinPeriodMicroseconds, MaxPeriodMicroseconds);
        return (period, Math.Max(MinQuotaMicroseconds, (long)Math.Round(cores * period)));
    }

    /// <summary>The CFS throttling counters of the cgroup of <paramref name="name"/> so far; null when it has none (no
    /// limit applied yet, or the process has left).</summary>
    public static CfsThrottling? ReadThrottling(string name)
    {
        foreach (var (group, v2) in Groups(name))
        {
            try
            {
                var stat = Path.Combine(group, "cpu.stat");
                if (File.Exists(stat))
                {
                    return CfsThrottling.Parse(File.ReadAllText(stat), v2);
                }
            }
            catch (IOException)
            {
                // The group went away between the check and the read: as if it had none.
            }
        }

        return null;
    }

    /// <summary>Where the cgroup of <paramref name="name"/> is under cgroup v2 and under v1 (at most one exists).</summary>
    private static (string Path, bool V2)[] Groups(string name) =>
        [(Path.Combine(V2Root, "asymcdc", name), true), (Path.Combine(V1Root, "asymcdc", name), false)];

    /// <summary>Removes the cgroup of <paramref name="name"/> once its process has exited (best effort).</summary>
    public static void Remove(string name)
    {
        foreach (var (group, _) in Groups(name))
        {
            try
            {
                if (Directory.Exists(group))
                {
                    Directory.Delete(group);
                }
            }
            catch (IOException)
            {
                // Still has a process (it is exiting): the next start of the same silo reuses the group.
            }
        }
    }
}

/// <summary>
/// A cgroup's CFS throttling counters (<c>cpu.stat</c>): periods in which its processes ran, and in how many of them they
/// used up the quota and waited for the next period. The share of throttled periods says how much of the limit a
/// process uses: near 1, every period ends in a wait.
/// </summary>
public readonly record struct CfsThrottling(long Periods, long ThrottledPeriods, TimeSpan ThrottledTime)
{
    /// <summary>Throttled periods ÷ periods (0 when none ran).</summary>
    public double ThrottledShare => Periods > 0 ? (double)ThrottledPeriods / Periods : 0;

    public static CfsThrottling operator -(CfsThrottling after, CfsThrottling before) =>
        new(after.Periods - before.Periods, after.ThrottledPeriods - before.ThrottledPeriods, after.ThrottledTime - before.ThrottledTime);

    /// <summary>Reads <c>nr_periods</c>, <c>nr_throttled</c> and the throttled time: <c>throttled_usec</c> (cgroup v2,
    /// <paramref name="v2"/>) or <c>throttled_time</c> in nanoseconds (v1).</summary>
    public static CfsThrottling Parse(string cpuStat, bool v2)
    {
        ArgumentNullException.ThrowIfNull(cpuStat);
        long periods = 0, throttled = 0, time = 0;
        foreach (var line in cpuStat.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            switch (parts[0])
            {
                case "nr_periods": periods = value; break;
                case "nr_throttled": throttled = value; break;
                case "throttled_usec" when v2: time = value * 1000; break;
                case "throttled_time" when !v2: time = value; break;
            }
        }

        return new CfsThrottling(periods, throttled, TimeSpan.FromTicks(time / 100));
    }
}
