using System.Diagnostics;

namespace AsymCdc.Cli.Cluster;

/// <summary>Starts a long-running child whose output goes to a log file, not to a pipe: the child must outlive
/// <c>asymcdc cluster up</c>, and a pipe to an exited parent would break its writes.</summary>
public static class ChildProcess
{
    /// <param name="nice">The child's CPU niceness (0: as this process; 19: only what nothing else wants).</param>
    public static Process Start(string fileName, IEnumerable<string> arguments, string logPath, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null, int nice = 0)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workingDirectory };
        // exec (and nice's own exec): the pid we record is the program's own, so signals reach it directly.
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add((nice != 0 ? $"exec nice -n {nice} " : "exec ") + "\"$0\" \"$@\" </dev/null >>\"$ASYMCDC_LOG\" 2>&1");
        start.ArgumentList.Add(fileName);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASYMCDC_LOG"] = logPath;
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            // Null: not inherited from this process either.
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
    }

    /// <summary>The last lines of a log, for an error message.</summary>
    public static string Tail(string logPath, int lines = 15)
    {
        try
        {
            var all = File.ReadAllLines(logPath);
            return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
