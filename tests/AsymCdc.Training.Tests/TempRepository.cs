using AsymCdc.Inference;

namespace AsymCdc.Training.Tests;

/// <summary>A scratch model repository holding copies of real models (from the checkout's <c>models/</c>), deleted on dispose.</summary>
internal sealed class TempRepository : IDisposable
{
    private TempRepository(string root) => Root = root;

    public string Root { get; }

    /// <summary>The checkout's <c>models/</c> folder.</summary>
    public static string Models => ModelRepositoryLocator.Find();

    public static TempRepository With(params string[] models)
    {
        var repository = new TempRepository(Directory.CreateTempSubdirectory("asymcdc-train-test-").FullName);
        foreach (var model in models)
        {
            Copy(Path.Combine(Models, model), Path.Combine(repository.Root, model));
        }

        return repository;
    }

    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
