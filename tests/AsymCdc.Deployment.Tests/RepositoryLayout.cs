namespace AsymCdc.Deployment.Tests;

/// <summary>Paths of the deployment artifacts, found from the test binaries' location.</summary>
internal static class RepositoryLayout
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string PathOf(params string[] relative) => Path.Combine([Root, .. relative]);

    public static string ReadText(params string[] relative)
    {
        var path = PathOf(relative);
        Assert.True(File.Exists(path), $"expected file {Path.GetRelativePath(Root, path)} is missing");
        return File.ReadAllText(path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AsymCdc.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"no AsymCdc.Orleans.sln above {AppContext.BaseDirectory}; run the tests from a checkout of the repository");
    }
}
