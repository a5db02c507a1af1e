using System.ComponentModel;
using System.Diagnostics;

namespace AsymCdc.Deployment.Tests;

/// <summary>Runs a command-line tool the way an operator would (kubectl, yamllint).</summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Describe(string what) =>
            $"{what} exited with {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
    }

    public static Result Run(string tool, IEnumerable<string> arguments, string installHint, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(tool)
        {
            WorkingDirectory = RepositoryLayout.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"'{tool}' is not installed or not on PATH ({e.Message}); {installHint}", e);
        }

        using (process)
        {
            // Read both streams concurrently so a full pipe cannot deadlock the tool.
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{tool} {string.Join(' ', arguments)} did not finish in time");
            }

            return new Result(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
        }
    }
}
