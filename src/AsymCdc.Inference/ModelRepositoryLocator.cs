namespace AsymCdc.Inference;

/// <summary>
/// Finds the repository's <c>models/</c> folder (Triton layout, see docs/ARCHITECTURE.md) by walking
/// up from the current directory and from <see cref="AppContext.BaseDirectory"/>, so tests, the silo
/// and the CLI find it whether they run from the repo root, a project folder or <c>bin/</c>.
/// </summary>
public static class ModelRepositoryLocator
{
    /// <summary>The folder name looked for at every level.</summary>
    public const string FolderName = "models";

    /// <summary>Returns the nearest <c>models/</c> folder that holds at least one
    /// <c>&lt;name&gt;/config.json</c>; throws naming every folder tried when there is none.</summary>
    public static string Find()
    {
        var tried = new List<string>();
        var found = Search(IsModelRepository, FolderName, tried);
        return found ?? throw new DirectoryNotFoundException(
            $"No model repository found: looked for a '{FolderName}' folder holding '<name>/config.json' in "
            + string.Join(", ", tried)
            + ". Set AsymCdc:Inference:ModelRepository to the models folder, or run from inside the repository.");
    }

    /// <summary>Like <see cref="Find"/>, but returns null instead of throwing.</summary>
    public static string? TryFind() => Search(IsModelRepository, FolderName, tried: null);

    /// <summary>The directories walked, nearest first: the current directory and its parents, then
    /// the application base directory and its parents (duplicates removed).</summary>
    public static IReadOnlyList<string> SearchRoots()
    {
        var roots = new List<string>();
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var full = Path.TrimEndingDirectorySeparator(dir.FullName);
                if (!roots.Contains(full, StringComparer.Ordinal))
                {
                    roots.Add(full);
                }
            }
        }

        return roots;
    }

    /// <summary>Walks <see cref="SearchRoots"/> and returns the first <c>root/relative</c> for which
    /// <paramref name="accept"/> holds; records each candidate in <paramref name="tried"/>.</summary>
    internal static string? Search(Func<string, bool> accept, string relative, List<string>? tried)
    {
        foreach (var root in SearchRoots())
        {
            var candidate = Path.Combine(root, relative);
            tried?.Add(candidate);
            if (accept(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsModelRepository(string path)
    {
        if (!Directory.Exists(path))
        {
            return false;
        }

        foreach (var sub in Directory.EnumerateDirectories(path))
        {
            if (File.Exists(Path.Combine(sub, "config.json")))
            {
                return true;
            }
        }

        return false;
    }
}
