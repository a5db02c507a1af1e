namespace AsymCdc.Cli.Cluster;

/// <summary>
/// Finds <c>asymcdc-silo.dll</c>: an explicit path (<c>--silo</c> or <c>ASYMCDC_SILO</c>), else the silo project's build
/// output in this repository (same configuration as this CLI first, then the other), found by walking up from the CLI's
/// own folder and the working directory. It never builds: an error says what to build.
/// </summary>
public static class SiloLocator
{
    public const string FileName = "asymcdc-silo.dll";
    public const string EnvironmentVariable = "ASYMCDC_SILO";

    public static string Find(string? explicitPath = null)
    {
        var given = explicitPath ?? Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(given))
        {
            var full = Path.GetFullPath(given);
            return File.Exists(full)
                ? full
                : throw new FileNotFoundException($"the silo '{full}' (from --silo or {EnvironmentVariable}) does not exist; build it with 'dotnet build src/AsymCdc.Silo -c Release'", full);
        }

        var tried = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"cannot find {FileName}; build it with 'dotnet build src/AsymCdc.Silo -c Release' or pass --silo PATH (tried: {string.Join(", ", tried.Distinct())})");
    }

    private static IEnumerable<string> Candidates()
    {
        // The CLI runs from src/AsymCdc.Cli/bin/<Configuration>/<tfm>/: prefer the silo built the same way.
        var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = own.Name.StartsWith("net", StringComparison.Ordinal) ? own.Name : "net10.0";
        var configuration = own.Parent?.Name is "Debug" or "Release" ? own.Parent.Name : "Release";
        string[] configurations = configuration == "Release" ? ["Release", "Debug"] : ["Debug", "Release"];
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (var c in configurations)
                {
                    yield return Path.Combine(dir.FullName, "src", "AsymCdc.Silo", "bin", c, tfm, FileName);
                }
            }
        }
    }
}
