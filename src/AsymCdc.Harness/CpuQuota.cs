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
    public static void Apply(int pid, string name, double cores)
    {
        var (periodUs, quotaUs) = PeriodAndQuota(cores);
        var quota = quotaUs.ToString(CultureInfo.InvariantCulture);
        var period = periodUs.ToString(CultureInfo.InvariantCulture);
        try
        {
            if (File.Exists(Path.Combine(V2Root, "cgroup.controllers"))
                && File.ReadAllText(Path.Combine(V2Root, "cgroup.controllers")).Split(' ', '\n').Contains("cpu"))
            {
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
                File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                throw new PlatformNotSupportedException("no cgroup cpu controller at /sys/fs/cgroup/cpu (v1) or in /sys/fs/cgroup (v2)");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot limit pid {pid} to {cores} cores with a cgroup ({e.Message}); run as root on a machine with a writable cgroup cpu controller, or without a worker CPU limit", e);
        }
    }

    /// <summary>The CFS period and quota, in microseconds, that limit a process to <paramref name="cores"/>.</summary>
    public static (int PeriodMicroseconds, long QuotaMicroseconds) PeriodAndQuota(double cores)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cores);
        var period = (int)Math.Clamp(Math.Ceiling(MinQuotaMicroseconds / cores), MinPeriodMicroseconds, MaxPeriodMicroseconds);
        return (period, Math.Max(MinQuotaMicroseconds, (long)Math.Round(cores * period)));
    }

    /// <summary>Removes the cgroup of <paramref name="name"/> once its process has exited (best effort).</summary>
    public static void Remove(string name)
    {
        foreach (var group in new[] { Path.Combine(V1Root, "asymcdc", name), Path.Combine(V2Root, "asymcdc", name) })
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
