using System.Globalization;

namespace AsymCdc.Cli.Cluster;

/// <summary>
/// A CPU limit for one process, as Kubernetes enforces a container's <c>resources.limits.cpu</c>: a cgroup whose CFS quota
/// is <c>cores</c> × the period. The period is 10 ms rather than the kernel's 100 ms, so a throttled process waits at
/// most 10 ms. cgroup v2 (<c>cpu.max</c>) where the unified hierarchy has the cpu controller, else cgroup v1
/// (<c>cpu.cfs_quota_us</c>).
/// </summary>
public static class CpuQuota
{
    private const int PeriodMicroseconds = 10_000;
    private const string V1Root = "/sys/fs/cgroup/cpu";
    private const string V2Root = "/sys/fs/cgroup";

    /// <summary>Puts <paramref name="pid"/> (every thread of it) into the cgroup <c>asymcdc/{name}</c> limited to
    /// <paramref name="cores"/>; throws naming what is missing when the machine has no writable cpu controller.</summary>
    public static void Apply(int pid, string name, double cores)
    {
        var quota = ((long)Math.Round(cores * PeriodMicroseconds)).ToString(CultureInfo.InvariantCulture);
        var period = PeriodMicroseconds.ToString(CultureInfo.InvariantCulture);
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
