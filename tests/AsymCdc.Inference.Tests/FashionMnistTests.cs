using AsymCdc.Inference.Data;

namespace AsymCdc.Inference.Tests;

public sealed class FashionMnistTests
{
    [Fact]
    public void LoadTestSet_reads_ten_thousand_images_in_unit_range_with_balanced_labels()
    {
        var set = FashionMnist.LoadTestSet();

        Assert.Equal(10_000, set.Count);
        Assert.Equal(set.Count * FashionMnistSet.ImageLength, set.Images.Length);
        var min = float.MaxValue;
        var max = float.MinValue;
        foreach (var p in set.Images)
        {
            min = Math.Min(min, p);
            max = Math.Max(max, p);
        }

        Assert.Equal(0f, min);
        Assert.Equal(1f, max);

        // The Fashion-MNIST test set has exactly 1000 images of each of the 10 classes.
        var perClass = new int[10];
        foreach (var label in set.Labels)
        {
            perClass[label]++;
        }

        Assert.All(perClass, n => Assert.Equal(1000, n));
    }

    [Fact]
    public void LoadTestSet_from_a_folder_without_the_files_names_the_missing_file()
    {
        var empty = Directory.CreateTempSubdirectory("asymcdc-nodata-").FullName;
        try
        {
            var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.LoadTestSet(empty));
            Assert.Contains(Path.Combine(empty, FashionMnist.ImagesFile), error.Message);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void LoadTestSet_rejects_a_file_that_is_not_idx()
    {
        var dir = Directory.CreateTempSubdirectory("asymcdc-baddata-").FullName;
        try
        {
            foreach (var name in new[] { FashionMnist.ImagesFile, FashionMnist.LabelsFile })
            {
                using var file = File.Create(Path.Combine(dir, name));
                using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
                gzip.Write("this is plainly not an IDX file"u8);
            }

            var error = Assert.Throws<InvalidDataException>(() => FashionMnist.LoadTestSet(dir));
            Assert.Contains("IDX magic", error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SearchRoots_start_at_the_current_directory_and_walk_up()
    {
        var roots = ModelRepositoryLocator.SearchRoots();

        Assert.Equal(Path.TrimEndingDirectorySeparator(Directory.GetCurrentDirectory()), roots[0]);
        Assert.Contains(Path.TrimEndingDirectorySeparator(Path.GetPathRoot(Directory.GetCurrentDirectory())!), roots);
    }
}
